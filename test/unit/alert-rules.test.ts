import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { createPrometheusMetrics } from '../../src/metrics/prometheus.ts';
import { anchorsOf } from '../helpers/markdown.ts';

/**
 * The alert rules in deploy/prometheus: checked and unit-tested by promtool (Debian's `prometheus`
 * package; .ci/run installs it and sets TEST_REQUIRE_PROMTOOL), and held to the metrics the IdP
 * exposes and the runbook sections (docs/runbook.md) they point at.
 */
const dir = path.resolve(import.meta.dirname, '../../deploy/prometheus');
const rulesFile = path.join(dir, 'jmb-idp-rules.yml');
const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((file) => existsSync(file));
const required = !!process.env.TEST_REQUIRE_PROMTOOL;
const missing = 'promtool is not installed: apt-get install -y --no-install-recommends prometheus (.ci/run installs it)';

type Rule = { alert?: string; record?: string; expr: string; annotations?: Record<string, string> };
const rules = (parse(readFileSync(rulesFile, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);

function run(args: string[]) {
  const result = spawnSync(promtool!, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

if (!promtool && required) {
  test('promtool checks and unit-tests the alert rules', (t) => t.fail(`TEST_REQUIRE_PROMTOOL is set but ${missing}`));
} else if (!promtool) {
  test.skip(`promtool checks and unit-tests the alert rules: skipped, ${missing}`, () => {});
} else {
  test('promtool checks and unit-tests the alert rules', (t) => {
    const checked = run(['check', 'rules', rulesFile]);
    t.true(checked.ok, checked.output);
    const tested = run(['test', 'rules', 'jmb-idp-rules.test.yml']);
    t.true(tested.ok, tested.output);
    t.regex(tested.output, /SUCCESS/);
  });
}

test('every alert has a test, and the alerts the issue asks for are there', (t) => {
  const alerts = rules.flatMap((rule) => (rule.alert ? [rule.alert] : []));
  const tests = readFileSync(path.join(dir, 'jmb-idp-rules.test.yml'), 'utf8');
  for (const alert of alerts) t.regex(tests, new RegExp(`alertname: ${alert}\\b`), `${alert} is tested`);
  for (const alert of ['JmbSmsSendRateHigh', 'JmbSmsSpendHigh', 'JmbLoginFailureRatioHigh', 'JmbSheddingSustained', 'JmbRateLimitedSustained', 'JmbNotReady', 'JmbSignInSlow']) {
    t.true(alerts.includes(alert), alert);
  }
});

test('the rules use only metrics the IdP exposes, and each alert points at a runbook section', (t) => {
  const { registry } = createPrometheusMetrics({ ready: async () => true, countMembersWithPasskeys: async () => 0, walBytes: () => 0, signInsInMemory: () => [] }, { smsPricePerSegment: 0.08 });
  const exposed = new Set(registry.getMetricsAsArray().flatMap(({ name, type }) => (String(type) === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])));
  const used = new Set(rules.flatMap((rule) => [...rule.expr.matchAll(/\bjmb_[a-z_]+/g)].map((match) => match[0])));
  t.true(used.size >= 8);
  t.deepEqual([...used].filter((name) => !exposed.has(name)), []);

  // The runbook annotations are repository paths with GitHub's anchors, each a section of docs/runbook.md.
  const anchors = anchorsOf(readFileSync(path.resolve(dir, '../../docs/runbook.md'), 'utf8'));
  for (const rule of rules.filter((r) => r.alert)) {
    const anchor = /^docs\/runbook\.md#(.+)$/.exec(rule.annotations?.runbook ?? '')?.[1];
    t.true(!!anchor && anchors.has(anchor), `${rule.alert}: runbook ${rule.annotations?.runbook}`);
  }
});
