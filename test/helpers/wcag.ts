/**
 * Checks of the WCAG 2.2 criteria axe-core cannot make on its own: focus not obscured (2.4.11),
 * target size (2.5.8, measured over every target rather than axe's sample of widgets) and the
 * fields of accessible authentication (3.3.8).
 */
import type { Page } from 'playwright-core';

/** What interactive targets are, for 2.5.8 and the focus walk. */
const TARGETS = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, [role="button"]';

/**
 * Interactive targets smaller than 24 × 24 CSS px whose 24 px circle (centred on the target) touches
 * another target or another small target's circle: WCAG 2.5.8's minimum, with its spacing exception.
 * A link inside a sentence is exempt, as 2.5.8 says. One line per target that fails, none when all pass.
 */
export async function crampedTargets(page: Page): Promise<string[]> {
  return page.evaluate((selector) => {
    const describe = (element: Element) => {
      const text = (element.getAttribute('aria-label') ?? element.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
      return `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}${text ? ` "${text}"` : ''}`;
    };
    const visible = (element: Element) => {
      const style = getComputedStyle(element);
      return element.getClientRects().length > 0 && style.visibility !== 'hidden' && style.display !== 'none';
    };
    // 2.5.8's inline exception: a link with words of the sentence right before or after it.
    const inSentence = (element: Element) => {
      if (element.tagName !== 'A' || getComputedStyle(element).display !== 'inline') return false;
      for (let node: Element | null = element; node && getComputedStyle(node).display === 'inline'; node = node.parentElement) {
        for (const beside of [node.previousSibling, node.nextSibling]) {
          if (beside?.nodeType === Node.TEXT_NODE && /\p{L}/u.test(beside.textContent ?? '')) return true;
        }
      }
      return false;
    };
    const targets = [...document.querySelectorAll(selector)].filter(visible).map((element) => {
      const box = element.getBoundingClientRect();
      return { element, box, small: box.width < 24 || box.height < 24, exempt: inSentence(element) };
    });
    const distanceToBox = (x: number, y: number, box: DOMRect) => {
      const dx = Math.max(box.left - x, 0, x - box.right);
      const dy = Math.max(box.top - y, 0, y - box.bottom);
      return Math.hypot(dx, dy);
    };
    const problems: string[] = [];
    for (const target of targets) {
      if (!target.small || target.exempt) continue;
      const x = target.box.left + target.box.width / 2;
      const y = target.box.top + target.box.height / 2;
      for (const other of targets) {
        if (other === target || other.element.contains(target.element) || target.element.contains(other.element)) continue;
        const ox = other.box.left + other.box.width / 2;
        const oy = other.box.top + other.box.height / 2;
        // Less than the circle's radius from the other target, or two small targets' circles overlapping.
        const touches = distanceToBox(x, y, other.box) < 12 || (other.small && !other.exempt && Math.hypot(ox - x, oy - y) < 24);
        if (touches) {
          problems.push(`${describe(target.element)} is ${Math.round(target.box.width)} × ${Math.round(target.box.height)} px and too close to ${describe(other.element)}`);
          break;
        }
      }
    }
    return problems;
  }, TARGETS);
}

/**
 * Tabs through the whole page (from its top, round to where it started) and returns, one line each,
 * every focused element that is not entirely within the window or that an element of fixed or sticky
 * position covers (WCAG 2.4.11, focus not obscured). Also fails when Tab reaches nothing at all.
 */
export async function obscuredFocus(page: Page, maxTabs = 80): Promise<string[]> {
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  });
  const problems: string[] = [];
  const seen: string[] = [];
  let outside = 0;
  for (let press = 0; press < maxTabs; press++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement;
      if (!element || element === document.body || element === document.documentElement) return undefined;
      // A stable name for the element: its place in the document.
      const path: string[] = [];
      for (let node: Element | null = element; node && node !== document.body; node = node.parentElement) {
        path.unshift(`${node.tagName.toLowerCase()}:${[...(node.parentElement?.children ?? [])].indexOf(node)}`);
      }
      const text = (element.getAttribute('aria-label') ?? element.textContent ?? (element as HTMLInputElement).name ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
      const name = `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}${text ? ` "${text}"` : ''}`;
      const box = element.getBoundingClientRect();
      const problems: string[] = [];
      if (box.top < -0.5 || box.left < -0.5 || box.bottom > innerHeight + 0.5 || box.right > innerWidth + 0.5) {
        problems.push(`${name} is focused at ${Math.round(box.left)},${Math.round(box.top)} (${Math.round(box.width)} × ${Math.round(box.height)}) outside the ${innerWidth} × ${innerHeight} window`);
      }
      for (const cover of document.querySelectorAll('body *')) {
        const position = getComputedStyle(cover).position;
        if ((position !== 'fixed' && position !== 'sticky') || cover.contains(element)) continue;
        const over = cover.getBoundingClientRect();
        if (over.right > box.left && over.left < box.right && over.bottom > box.top && over.top < box.bottom) {
          problems.push(`${name} is under a ${position} ${cover.tagName.toLowerCase()}`);
        }
      }
      // Each line of a link that wraps, at its middle.
      for (const line of element.getClientRects()) {
        const hit = document.elementFromPoint(line.left + line.width / 2, line.top + line.height / 2);
        if (hit && hit !== element && !element.contains(hit)) problems.push(`${name} is covered by ${hit.tagName.toLowerCase()}`);
      }
      return { key: path.join('/'), problems };
    });
    // Past the page's last element focus leaves the page, then starts again at its first.
    if (!focused) {
      if (++outside > 2) break;
      continue;
    }
    if (seen.includes(focused.key)) break;
    seen.push(focused.key);
    problems.push(...focused.problems);
  }
  if (seen.length === 0) problems.push('Tab focuses nothing on the page');
  return problems;
}

/**
 * What stands in the way of pasting into the page's log-in fields or of a password manager filling
 * them (WCAG 3.3.8): a paste handler in the markup, `autocomplete="off"`, or a token other than
 * `username webauthn` (membership number), `current-password` (password) or `one-time-code` (SMS code).
 */
export async function authenticationFieldProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const expected: Record<string, string> = { number: 'username webauthn', password: 'current-password', code: 'one-time-code' };
    for (const field of document.querySelectorAll('input')) {
      if (field.type === 'hidden') continue;
      const name = field.id || field.name;
      if (field.hasAttribute('onpaste') || field.hasAttribute('oncopy') || field.hasAttribute('ondrop')) problems.push(`#${name} handles paste in its markup`);
      const autocomplete = field.getAttribute('autocomplete');
      if (autocomplete?.trim().toLowerCase() === 'off' && (field.type === 'password' || name in expected)) problems.push(`#${name} turns autocomplete off`);
      if (name in expected && autocomplete !== expected[name]) problems.push(`#${name} has autocomplete="${autocomplete}", not "${expected[name]}"`);
      if (field.type === 'password' && autocomplete !== 'current-password' && autocomplete !== 'new-password') problems.push(`password #${name} has autocomplete="${autocomplete}"`);
    }
    if (document.body.hasAttribute('onpaste')) problems.push('the page handles paste in its markup');
    return problems;
  });
}
