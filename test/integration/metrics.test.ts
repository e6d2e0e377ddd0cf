import test from 'ava';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { scrape } from '../helpers/metrics.ts';
import { passkeyLogIn, passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const sms = new MemorySms();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ sms, metrics: true, env: { SMS_PRICE_PER_SEGMENT: '0.5' } });
});
test.after.always(async () => app?.stop());

const metrics = () => scrape(app.metricsUrl!);

test.serial('a password log-in, a passkey log-in and an SMS step-up move their counters, and requests are counted by route group', async (t) => {
  const before = await metrics();
  const rp = await RelyingParty.website(app);

  const member = await createMember(app.store, { phone: '+819022220001' });
  const wrong = new Browser(app.url);
  const page = await wrong.follow((await rp.start()).url);
  const refused = await wrong.post(`${page.url}/login`, { csrf: hiddenField(page.final.html, 'csrf'), number: member.number, password: 'not the password' });
  t.is(refused.status, 401);
  const flow = await rp.start();
  const loggedIn = new Browser(app.url);
  const tokens = await rp.redeem(await passwordLogIn(loggedIn, flow.url, member.number, member.password), flow);
  const confirm = await loggedIn.get(client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token! }).toString());
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(confirm.html)![1]!;
  await loggedIn.follow((await loggedIn.post(action, { xsrf: hiddenField(confirm.html, 'xsrf'), logout: 'yes' })).location!);

  const passkeyMember = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, passkeyMember.id, 'localhost');
  const passkeyFlow = await rp.start();
  await rp.redeem(await passkeyLogIn(new Browser(app.url), passkeyFlow.url, passkey), passkeyFlow);

  // A step-up: the code goes out as the SMS step opens; asking again at once meets the cooldown.
  const stepUp = await rp.start({ acr_values: 'urn:jmb:loa:2' });
  const browser = new Browser(app.url);
  const login = await browser.follow(stepUp.url);
  const posted = await browser.post(`${login.url}/login`, { csrf: hiddenField(login.final.html, 'csrf'), number: member.number, password: member.password });
  const step = await browser.follow(posted.location!);
  t.is(sms.sent.at(-1)?.to, member.phone);
  await browser.post(`${step.url}/sms/resend`, { csrf: hiddenField(step.final.html, 'csrf') });
  const verified = await browser.post(`${step.url}/sms/verify`, { csrf: hiddenField(step.final.html, 'csrf'), code: sms.lastCode(member.phone) });
  t.is(verified.status, 303);
  await rp.redeem((await browser.follow(verified.location!)).url, stepUp);

  const after = await metrics();
  const moved = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);
  t.is(moved('jmb_logins_total', { method: 'password', outcome: 'success' }), 2);
  t.is(moved('jmb_logins_total', { method: 'password', outcome: 'invalid_credentials' }), 1);
  t.is(moved('jmb_logins_total', { method: 'passkey', outcome: 'success' }), 1);
  t.is(moved('jmb_step_ups_total', { outcome: 'success' }), 1);
  t.is(moved('jmb_logouts_total'), 1);
  t.true(moved('jmb_http_requests_total', { group: 'logout' }) >= 2);
  t.is(moved('jmb_sms_sent_total'), 1);
  // The English code message fits one segment of 160 characters (sms-segments.test.ts has the rest).
  const segments = moved('jmb_sms_segments_total');
  t.is(segments, 1);
  t.is(moved('jmb_sms_spend_estimated_total'), segments * 0.5);
  t.is(moved('jmb_sms_refused_total', { reason: 'cooldown' }), 1);

  // The sign-in steps and the token requests, each in their own group, with a latency histogram.
  t.true(moved('jmb_http_requests_total', { group: 'sign_in', status: '200' }) >= 3);
  t.true(moved('jmb_http_requests_total', { group: 'sign_in', status: '303' }) >= 3);
  t.is(moved('jmb_http_requests_total', { group: 'sign_in', status: '401' }), 1);
  t.is(moved('jmb_http_requests_total', { group: 'token', status: '200' }), 3);
  t.is(moved('jmb_http_request_duration_seconds_count', { group: 'token' }), 3);
  t.is(moved('jmb_http_request_duration_seconds_bucket', { group: 'token', le: '+Inf' }), 3);
  t.true(after.value('jmb_http_request_duration_seconds_sum', { group: 'sign_in' }) > before.value('jmb_http_request_duration_seconds_sum', { group: 'sign_in' }));

  t.true(after.value('jmb_signins_in_progress', { kind: 'Interaction' }) >= 1, 'sign-ins in progress are held in memory');
  t.is(after.value('jmb_store_up'), 1);
  // The store's shared transactions: every log-in's writes were committed in some of them.
  const commits = moved('jmb_store_commit_duration_seconds_count');
  t.true(commits >= 5, `${commits} commits`);
  t.is(moved('jmb_store_commit_statements_count'), commits);
  t.true(moved('jmb_store_commit_statements_sum') >= commits, 'each carried at least one statement');
  t.true(after.has('jmb_store_wal_bytes'));
  t.is(after.value('jmb_store_errors_total'), 0);
  for (const processFamily of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
    t.true(after.has(processFamily), `${processFamily} is exposed`);
  }
  t.regex(after.contentType ?? '', /^text\/plain; version=0\.0\.4/);
});

test.serial('the public listener does not serve metrics, and the metrics listener serves nothing else', async (t) => {
  for (const method of ['GET', 'HEAD', 'POST']) {
    const response = await fetch(`${app.url}/metrics`, { method, headers: { accept: 'text/plain' } });
    t.is(response.status, 404, method);
    t.notRegex(await response.text(), /jmb_|process_/);
  }
  const other = new URL('/healthz', app.metricsUrl);
  t.is((await fetch(other)).status, 404);
  t.is((await fetch(app.metricsUrl!, { method: 'POST' })).status, 404);
});

test.serial('label values are bounded: no member number, phone, address or path a client chose becomes a label', async (t) => {
  const member = await createMember(app.store, { phone: '+819033330003' });
  const random = randomBytes(6).toString('hex');
  for (const path of [`/${random}`, `/interaction/${random}`, `/account/${random}`, `/.well-known/${random}`, `/token/${random}`]) {
    await fetch(`${app.url}${path}?q=${random}`, { headers: { 'user-agent': `agent-${random}` } });
  }
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  const page = await browser.follow((await rp.start({ state: `state-${random}` })).url);
  await browser.post(`${page.url}/login`, { csrf: hiddenField(page.final.html, 'csrf'), number: member.number, password: `wrong-${random}` });

  const { text, samples } = await metrics();
  for (const secret of [random, member.number, member.phone, member.id, '127.0.0.1']) t.false(text.includes(secret), `${secret} appears in the metrics`);
  const groups = new Set(samples.filter((s) => s.name.startsWith('jmb_http_')).map((s) => s.labels.group));
  t.deepEqual([...groups].filter((group) => !['sign_in', 'token', 'userinfo', 'account', 'logout', 'well_known', 'health', 'assets', 'other'].includes(group!)), []);
  t.true(samples.filter((s) => s.name === 'jmb_http_requests_total').every((s) => /^\d{3}$/.test(s.labels.status!)));
  const outcomes = samples.filter((s) => s.name === 'jmb_logins_total').map((s) => s.labels.outcome!);
  t.true(outcomes.every((outcome) => /^[a-z_]+$/.test(outcome)), outcomes.join(', '));
});

test('with METRICS_TOKEN, the metrics listener answers only the bearer of the token', async (t) => {
  const token = randomBytes(24).toString('base64url');
  const guarded = await startTestApp({ metrics: true, env: { METRICS_PORT: '0', METRICS_TOKEN: token } });
  t.teardown(() => guarded.stop());
  for (const authorization of [undefined, 'Bearer wrong', `Basic ${token}`, `Bearer ${token}x`]) {
    const response = await fetch(guarded.metricsUrl!, { headers: authorization ? { authorization } : {} });
    t.is(response.status, 401, authorization ?? 'no credentials');
    t.is(response.headers.get('www-authenticate'), 'Bearer realm="metrics"');
    t.notRegex(await response.text(), /jmb_/);
  }
  t.true((await scrape(guarded.metricsUrl!, { authorization: `Bearer ${token}` })).has('jmb_store_up'));
});
