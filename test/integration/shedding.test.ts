import test from 'ava';
import { request, type ClientRequest } from 'node:http';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { scrape } from '../helpers/metrics.ts';
import { RelyingParty, passkeyLogIn, passwordLogIn } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

async function logInPage(app: TestApp, rp: RelyingParty) {
  const browser = new Browser(app.url);
  const flow = await rp.start();
  const { final, url } = await browser.follow(flow.url);
  return { browser, flow, url, csrf: hiddenField(final.html, 'csrf') };
}

test('with a tiny password-hashing queue, a burst gets fast 503s with Retry-After while the admitted log-ins and a passkey log-in complete', async (t) => {
  const app = await startTestApp({ metrics: true, env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_MAX_QUEUE: '0', PASSWORD_HASH_MAX_WAIT_MS: '10000' } });
  t.teardown(() => app.stop());
  const rp = await RelyingParty.website(app);
  const members = await Promise.all(Array.from({ length: 8 }, () => createMember(app.store)));
  const pages = await Promise.all(members.map(() => logInPage(app, rp)));
  const passkeyMember = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, passkeyMember.id, 'localhost');
  const passkeyFlow = await rp.start();

  const [answers, passkeyCallback] = await Promise.all([
    Promise.all(pages.map(({ browser, url, csrf }, i) => browser.post(`${url}/login`, { csrf, number: members[i]!.number, password: members[i]!.password }))),
    passkeyLogIn(new Browser(app.url), passkeyFlow.url, passkey),
  ]);
  const refused = answers.filter((answer) => answer.status === 503);
  const admitted = answers.filter((answer) => answer.status === 303);
  t.is(refused.length + admitted.length, answers.length, `only 303 or 503, got ${answers.map((a) => a.status)}`);
  t.true(refused.length >= 1, 'some were refused');
  t.true(admitted.length >= 1, 'some were admitted');
  for (const [i, answer] of answers.entries()) {
    if (answer.status !== 503) continue;
    t.true(Number(answer.headers.get('retry-after')) >= 1);
    t.regex(answer.html, /Many members are logging in right now/);
    t.true(answer.html.includes(`<a class="button-link" href="${new URL(pages[i]!.url).pathname}">Try again</a>`), '"Try again" returns to the sign-in');
  }
  t.is((await rp.redeem(passkeyCallback, passkeyFlow)).claims()!.sub, passkeyMember.id, 'a passkey log-in needs no password hash');
  const shed = await scrape(app.metricsUrl!);
  t.is(shed.value('jmb_shed_total', { stage: 'password_hashing' }), refused.length, 'every refusal is counted as shed');
  t.is(shed.value('jmb_logins_total', { method: 'password', outcome: 'busy' }), refused.length);

  // A refused member presses the button again: the same sign-in carries on.
  for (const [i, answer] of answers.entries()) {
    const { browser, url, csrf, flow } = pages[i]!;
    const posted = answer.status === 303 ? answer : await browser.post(`${url}/login`, { csrf, number: members[i]!.number, password: members[i]!.password });
    t.is(posted.status, 303);
    const { url: callback } = await browser.follow(posted.location!);
    t.is((await rp.redeem(callback, flow)).claims()!.sub, members[i]!.id);
  }
});

test('a saturated process refuses new sign-ins with 503 and Retry-After, and keeps answering health checks and sign-ins under way', async (t) => {
  const app = await startTestApp({ metrics: true, env: { SHED_MAX_REQUESTS_IN_FLIGHT: '3' } });
  t.teardown(() => app.stop());
  const rp = await RelyingParty.website(app);
  const member = await createMember(app.store);
  const underWay = await logInPage(app, rp);

  // Requests that stay in flight: passkey answers whose bodies never finish arriving.
  const held: ClientRequest[] = [];
  for (let i = 0; i < 3; i++) {
    const { browser, url } = await logInPage(app, rp);
    const cookie = browser.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const slow = request(`${url}/passkey`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', 'content-length': '1000', origin: app.url, 'sec-fetch-site': 'same-origin' } });
    slow.on('error', () => {});
    slow.write('{"id":');
    held.push(slow);
  }
  for (const deadline = Date.now() + 10_000; app.load().inFlight < 3 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 20));
  t.true(app.load().inFlight >= 3, 'the held requests reached the IdP');

  const started = performance.now();
  const refused = await fetch((await rp.start()).url, { redirect: 'manual', headers: { 'accept-language': 'en' } });
  const refusedInMs = performance.now() - started;
  t.is(refused.status, 503);
  t.is(refused.headers.get('retry-after'), '5');
  const page = await refused.text();
  t.regex(page, /Many members are logging in right now\./);
  t.regex(page, /Please try again in a few seconds\./);
  t.log(`refused in ${refusedInMs.toFixed(1)} ms`);
  t.is((await scrape(app.metricsUrl!)).value('jmb_shed_total', { stage: 'new_signin' }), 1);

  t.is((await fetch(`${app.url}/healthz`)).status, 200, 'health checks are answered');
  t.is((await fetch(`${app.url}/readyz`)).status, 200);
  const posted = await underWay.browser.post(`${underWay.url}/login`, { csrf: underWay.csrf, number: member.number, password: member.password });
  t.is(posted.status, 303, 'a sign-in under way continues');
  const { url: callback } = await underWay.browser.follow(posted.location!);
  const tokens = await rp.redeem(callback, underWay.flow);
  t.is(tokens.claims()!.sub, member.id, 'resume and token are answered');

  for (const slow of held) slow.destroy();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const browser = new Browser(app.url);
  t.truthy(await passwordLogIn(browser, (await rp.start()).url, member.number, member.password), 'once the load is gone, sign-ins start again');
});
