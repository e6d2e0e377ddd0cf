import test from 'ava';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { scrape } from '../helpers/metrics.ts';
import { passkeyAttempt } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// Small bounds so that a flood fits in a test: 40 sign-ins in progress in memory, 3 challenges a
// sign-in, and one load balancer in front so that each test client can have an address of its own.
const bounded = {
  TRUST_PROXY: '1',
  SIGNINS_IN_PROGRESS_MAX: '40',
  PASSKEY_CHALLENGES_MAX: '40',
  PASSKEY_CHALLENGES_PER_SIGNIN: '3',
};

const at = (app: TestApp, address: string) => Object.assign(new Browser(app.url), { extraHeaders: { 'x-forwarded-for': address } });

/** An authorization request as a bot sends it: no cookies, nothing followed. */
async function startSignIn(app: TestApp, address: string, accept = 'text/html') {
  const url = new URL('/auth', app.url);
  url.search = new URLSearchParams({
    client_id: WEBSITE.client_id, response_type: 'code', scope: 'openid', redirect_uri: WEBSITE.redirect_uris[0],
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
  }).toString();
  return fetch(url, { redirect: 'manual', headers: { 'x-forwarded-for': address, accept, 'accept-language': 'en' } });
}

test('a flood of sign-ins from one address pushes out that address\'s own, not another member\'s', async (t) => {
  const app = await startTestApp({ metrics: true, env: { ...bounded, SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE: '100000' } });
  t.teardown(() => app.stop());
  const rp = await RelyingParty.website(app);
  const members = await Promise.all([createMember(app.store), createMember(app.store)]);

  // One member starts before the flood, the other after it; both finish after it.
  const early = at(app, '203.0.113.1');
  const earlyFlow = await rp.start();
  const earlyPage = await early.follow(earlyFlow.url);

  for (let i = 0; i < 200; i++) t.is((await startSignIn(app, '192.0.2.66')).status, 303);
  const flooded = await scrape(app.metricsUrl!);
  t.is(flooded.value('jmb_signins_in_progress', { kind: 'Interaction' }), 40, 'the metrics show memory held at its bound');
  t.is(flooded.value('jmb_signins_evicted_total', { kind: 'Interaction' }), 161, 'and every sign-in pushed out');

  const late = at(app, '203.0.113.2');
  const lateFlow = await rp.start();
  const latePage = await late.follow(lateFlow.url);

  for (const [browser, page, flow, member] of [[early, earlyPage, earlyFlow, members[0]!], [late, latePage, lateFlow, members[1]!]] as const) {
    const reloaded = await browser.get(page.url);
    t.is(reloaded.status, 200, 'the log-in page still loads');
    const posted = await browser.post(`${page.url}/login`, { csrf: hiddenField(reloaded.html, 'csrf'), number: member.number, password: member.password });
    t.is(posted.status, 303);
    const { url: callback } = await browser.follow(posted.location!);
    const tokens = await rp.redeem(callback, flow);
    t.is(tokens.claims()!.sub, member.id, 'the member arrives at the relying party');
  }
});

test('a flood of passkey options from one sign-in pushes out no other member\'s challenge, and holds only its newest three', async (t) => {
  const app = await startTestApp({ env: { ...bounded, PASSKEY_OPTIONS_PER_ADDRESS_PER_MINUTE: '100000' } });
  t.teardown(() => app.stop());
  const rp = await RelyingParty.website(app);
  const member = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');

  const honest = at(app, '203.0.113.7');
  const { url: honestUrl } = await honest.follow((await rp.start()).url);
  const honestOptions = await honest.postJson(`${honestUrl}/passkey/options`);

  const attacker = at(app, '192.0.2.99');
  const { url: attackUrl } = await attacker.follow((await rp.start()).url);
  const issued = [];
  for (let i = 0; i < 300; i++) {
    const response = await attacker.postJson(`${attackUrl}/passkey/options`);
    t.is(response.status, 200);
    issued.push(response.json);
  }

  const signed = await honest.postJson(`${honestUrl}/passkey`, passkey.assert(honestOptions.json, honest.origin));
  t.is(signed.status, 200, 'the member\'s correctly signed assertion is accepted');

  // The attacker's sign-in: its fourth-newest challenge was withdrawn, its newest still works.
  const attackerMember = await createMember(app.store);
  const attackerPasskey = await enrolSoftPasskey(app.store, attackerMember.id, 'localhost');
  const withdrawn = await attacker.postJson(`${attackUrl}/passkey`, attackerPasskey.assert(issued.at(-4), attacker.origin));
  t.is(withdrawn.status, 400);
  t.is(withdrawn.json.error, 'challenge_expired');
  const newest = await attacker.postJson(`${attackUrl}/passkey`, attackerPasskey.assert(issued.at(-1), attacker.origin));
  t.is(newest.status, 200);
});

test('past its budget an address gets 429 with Retry-After: a page for a browser starting a sign-in, JSON for passkey options', async (t) => {
  const app = await startTestApp({ metrics: true, env: { ...bounded, SIGNIN_STARTS_PER_ADDRESS_PER_MINUTE: '5', PASSKEY_OPTIONS_PER_ADDRESS_PER_MINUTE: '4' } });
  t.teardown(() => app.stop());

  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push((await startSignIn(app, '192.0.2.5')).status);
  t.deepEqual(statuses, [303, 303, 303, 303, 303]);
  const refused = await startSignIn(app, '192.0.2.5');
  t.is(refused.status, 429);
  t.true(Number(refused.headers.get('retry-after')) >= 1 && Number(refused.headers.get('retry-after')) <= 12);
  const page = await refused.text();
  t.regex(page, /Too many requests came from your network/);
  t.regex(page, /<a class="button-link" href="\/auth\?[^"]+">Try again<\/a>/);
  t.is((await startSignIn(app, '192.0.2.6')).status, 303, 'another address is not affected');

  // A member whose browser has a session is not starting anything: their SSO still works.
  const member = await createMember(app.store);
  const browser = at(app, '198.51.100.1');
  const rp = await RelyingParty.website(app);
  const { final, url } = await browser.follow((await rp.start()).url);
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  t.is(posted.status, 303);
  await browser.follow(posted.location!);
  browser.extraHeaders = { 'x-forwarded-for': '192.0.2.5' };
  const sso = await browser.follow((await rp.start()).url);
  t.true(sso.url.startsWith(WEBSITE.redirect_uris[0]!), 'a member with a session from the busy address is signed in at once');

  const options = at(app, '192.0.2.8');
  const { url: interaction } = await options.follow((await rp.start()).url);
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await options.postJson(`${interaction}/passkey/options`));
  t.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 429]);
  t.is(answers[4]!.json.error, 'too_many_requests');
  t.true(Number(answers[4]!.headers.get('retry-after')) >= 1);
  const refusals = await scrape(app.metricsUrl!);
  t.is(refusals.value('jmb_rate_limited_total', { limit: 'signin_starts' }), 1);
  t.is(refusals.value('jmb_rate_limited_total', { limit: 'passkey_options' }), 1);
});

test('passkey options from a sign-in whose other challenges were withdrawn still complete a log-in', async (t) => {
  const app = await startTestApp({ env: bounded });
  t.teardown(() => app.stop());
  const member = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
  const rp = await RelyingParty.website(app);
  const browser = at(app, '203.0.113.30');
  const { url } = await browser.follow((await rp.start()).url);
  for (let i = 0; i < 5; i++) await browser.postJson(`${url}/passkey/options`);
  const result = await passkeyAttempt(browser, url, passkey);
  t.is(result.status, 200);
});

/** Two members open the log-in page, then `flood` runs, then both log in; each must arrive at the website. */
async function membersThrough(t: import('ava').ExecutionContext, app: TestApp, flood: () => Promise<void>) {
  const rp = await RelyingParty.website(app);
  const started = await Promise.all(['203.0.113.41', '2001:db8:5:6::41'].map(async (address) => {
    const member = await createMember(app.store);
    const browser = at(app, address);
    const flow = await rp.start();
    const page = await browser.follow(flow.url);
    return { member, browser, flow, page };
  }));
  await flood();
  for (const { member, browser, flow, page } of started) {
    const posted = await browser.post(`${page.url}/login`, { csrf: hiddenField(page.final.html, 'csrf'), number: member.number, password: member.password });
    t.is(posted.status, 303, 'the sign-in is still there at the member\'s right password');
    const { url: callback } = await browser.follow(posted.location!);
    t.is((await rp.redeem(callback, flow)).claims()!.sub, member.id, 'the member arrives at the relying party');
  }
}

test('sign-ins started from many addresses of one IPv6 /64 count as one network\'s: they push out their own, not members\' started before', async (t) => {
  const app = await startTestApp({ metrics: true, env: { TRUST_PROXY: '1', SIGNINS_IN_PROGRESS_MAX: '100' } });
  t.teardown(() => app.stop());
  await membersThrough(t, app, async () => {
    for (let i = 1; i <= 150; i++) t.is((await startSignIn(app, `2001:db8:77:1:${i.toString(16)}::${i.toString(16)}`)).status, 303);
    const flooded = await scrape(app.metricsUrl!);
    t.is(flooded.value('jmb_signins_in_progress', { kind: 'Interaction' }), 100);
  });
});

test('sign-ins started from many networks holding one each push out the newest, never a member\'s started before', async (t) => {
  const app = await startTestApp({ metrics: true, env: { TRUST_PROXY: '1', SIGNINS_IN_PROGRESS_MAX: '100' } });
  t.teardown(() => app.stop());
  await membersThrough(t, app, async () => {
    for (let i = 1; i <= 150; i++) t.is((await startSignIn(app, `10.20.${i >> 8}.${i & 255}`)).status, 303);
    const flooded = await scrape(app.metricsUrl!);
    t.is(flooded.value('jmb_signins_in_progress', { kind: 'Interaction' }), 100);
    t.is(flooded.value('jmb_signins_evicted_total', { kind: 'Interaction' }), 52);
  });
});
