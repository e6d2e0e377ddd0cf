import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ExecutionContext } from 'ava';
import type { Page } from 'playwright-core';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The WCAG levels every page must meet: A and AA, 2.0 to 2.2. */
const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

/**
 * The WCAG A and AA violations axe-core finds on the page as it is now, one line each (rule, what,
 * where). The engine is evaluated through the DevTools protocol, which the pages' CSP does not stop.
 */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { runOnly: { type: 'tag', values: tags } });
  }, WCAG_A_AA);
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Fails `t` with axe-core's findings when the page as it is now has any WCAG A or AA violation. */
export async function expectAccessible(t: ExecutionContext, page: Page, what: string): Promise<void> {
  t.deepEqual(await accessibilityViolations(page), [], `${what}: no WCAG A or AA violation`);
}
