import test from 'ava';
import { createPasskeyOffer } from '../../src/account/passkey-offer.ts';
import { Browser, hiddenField, type PageResponse } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { passkeyLogIn, submitPassword } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { SoftPasskey, enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { scrape } from '../helpers/metrics.ts';
import { NATIVE_APP, WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const sms = new MemorySms();
let now = Date.now();
let app: TestApp;
const APP_WITH_OWN_ENROLMENT = { ...NATIVE_APP, client_id: 'app-own-enrolment', jmb_passkey_offer: false };
test.before(async () => {
  app = await startTestApp({
    sms,
    clock: () => now,
    metrics: true,
    env: { PASSKEY_OFFER: 'on', PASSKEY_OFFER_SNOOZE_DAYS: '30' },
    clients: [{ ...WEBSITE, client_name: 'JMB website' }, NATIVE_APP, APP_WITH_OWN_ENROLMENT],
  });
});
test.after.always(async () => app?.stop());

let phone = 2000;
const eligibleMember = (fields = {}) => createMember(app.store, { phone: `+81802222${String(phone++).padStart(4, '0')}`, country: 'JP', ...fields });

/** A password log-in at the website; returns where the browser stopped (the offer, or the relying party). */
async function passwordLogInAt(browser: Browser, rp: RelyingParty, member: { number: string; password: string }, params: Record<string, string> = {}) {
  const { flow, posted } = await submitPassword(browser, rp, member, params);
  const next = await browser.follow(posted.location!);
  return { flow, ...next };
}

const isOffer = (page: PageResponse) => /<h1>Log in faster next time with a passkey<\/h1>/.test(page.html);
const atRelyingParty = (url: string) => url.startsWith(WEBSITE.redirect_uris[0]!);

test.serial('an eligible member is offered a passkey after a password log-in, sets one up in place and arrives at the website', async (t) => {
  const member = await eligibleMember();
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  const { flow, final, url } = await passwordLogInAt(browser, rp, member);
  t.true(isOffer(final), 'the offer is shown instead of going straight on');
  t.regex(final.html, /<button type="submit" class="primary">Set up a passkey<\/button>/);
  t.regex(final.html, /<button type="submit" class="secondary">Not now<\/button>/);
  t.regex(final.html, /080-••••-\d{4}/);

  const sent = sms.sent.length;
  const accepted = await browser.post(`${url}/offer/accept`, { csrf: hiddenField(final.html, 'csrf') });
  const step = await browser.get(accepted.location!);
  t.regex(step.html, /Enter the SMS verification code/);
  t.is(sms.sent.length, sent + 1, 'the SMS step sent a code as it opened');
  const verified = await browser.post(`${url}/offer/sms/verify`, { csrf: hiddenField(step.html, 'csrf'), code: sms.lastCode(member.phone) });
  t.is(verified.status, 303);
  const device = await browser.get(verified.location!);
  t.regex(device.html, />Create passkey</);

  const options = await browser.postJson(`${url}/offer/options`);
  t.is(options.status, 200);
  const { passkey, response } = SoftPasskey.create(options.json, app.url);
  const registered = await browser.postJson(`${url}/offer/register`, response);
  t.is(registered.status, 200);
  const done = await browser.get(registered.json.redirectTo);
  t.regex(done.html, /<h1>Passkey registered<\/h1>/);
  t.regex(done.html, />Continue to JMB website</);
  const continued = await browser.post(`${url}/offer/continue`, { csrf: hiddenField(done.html, 'csrf') });
  const back = await browser.follow(continued.location!);
  t.true(atRelyingParty(back.url), 'the member arrives at the website');
  const claims = (await rp.redeem(back.url, flow)).claims()!;
  t.is(claims.sub, member.id);
  t.is(claims.acr, 'urn:jmb:loa:2', 'the ID token says what was proved: password and SMS');
  t.deepEqual(claims.amr, ['pwd', 'sms', 'otp', 'mfa']);

  const next = await rp.start();
  const callback = await passkeyLogIn(new Browser(app.url), next.url, passkey!);
  t.is((await rp.redeem(callback, next)).claims()!.acr, 'phr', 'next time the passkey logs in');
  const again = await passwordLogInAt(new Browser(app.url), rp, member);
  t.true(atRelyingParty(again.url), 'a member with a passkey is not offered another');
});

test.serial('"Not now" goes straight on to the website and is not asked again for thirty days', async (t) => {
  const member = await eligibleMember();
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  const { flow, final, url } = await passwordLogInAt(browser, rp, member);
  t.true(isOffer(final));
  const dismissed = await browser.post(`${url}/offer/dismiss`, { csrf: hiddenField(final.html, 'csrf') });
  const back = await browser.follow(dismissed.location!);
  t.true(atRelyingParty(back.url));
  const claims = (await rp.redeem(back.url, flow)).claims()!;
  t.is(claims.acr, 'urn:jmb:loa:1');
  t.deepEqual(claims.amr, ['pwd'], 'nothing more was proved');

  t.true(atRelyingParty((await passwordLogInAt(new Browser(app.url), rp, member)).url), 'not offered again the next day');
  now += 31 * 24 * 3600 * 1000;
  t.true(isOffer((await passwordLogInAt(new Browser(app.url), rp, member)).final), 'offered again after thirty days');
  now = Date.now();
});

test.serial('a browser that cannot make a passkey moves on by itself, and the offer stays for next time', async (t) => {
  const member = await eligibleMember();
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  const { final, url } = await passwordLogInAt(browser, rp, member);
  t.regex(final.html, /<form method="post" action="[^"]+\/offer\/skip" id="offer-skip" hidden>/, 'the page can move on without the member');
  const skipped = await browser.post(`${url}/offer/skip`, { csrf: hiddenField(final.html, 'csrf') });
  t.true(atRelyingParty((await browser.follow(skipped.location!)).url));
  t.true(isOffer((await passwordLogInAt(new Browser(app.url), rp, member)).final), 'the next log-in on another browser is offered one');
});

test.serial('no offer for members who cannot register one, passkey log-ins, single sign-on, prompt=none or a client that opted out', async (t) => {
  const rp = await RelyingParty.website(app);
  const abroad = await createMember(app.store, { phone: '+447700900123', country: 'GB' });
  t.true(atRelyingParty((await passwordLogInAt(new Browser(app.url), rp, abroad)).url), 'a member outside Japan');

  const withPasskey = await eligibleMember();
  const passkey = await enrolSoftPasskey(app.store, withPasskey.id, 'localhost');
  t.true(atRelyingParty((await passwordLogInAt(new Browser(app.url), rp, withPasskey)).url), 'a member who has a passkey');
  const flow = await rp.start();
  t.truthy(await passkeyLogIn(new Browser(app.url), flow.url, passkey), 'a passkey log-in');

  const member = await eligibleMember();
  const browser = new Browser(app.url);
  const first = await passwordLogInAt(browser, rp, member);
  t.true(isOffer(first.final));
  await browser.post(`${first.url}/offer/dismiss`, { csrf: hiddenField(first.final.html, 'csrf') });
  const sso = await browser.follow((await rp.start()).url);
  t.true(atRelyingParty(sso.url), 'single sign-on goes straight on');
  const none = await browser.follow((await rp.start({ prompt: 'none' })).url);
  t.true(atRelyingParty(none.url));
  t.is(new URL(none.url).searchParams.get('error'), null, 'prompt=none is answered without an interaction');

  const other = await eligibleMember();
  const ownEnrolment = await RelyingParty.of(app, APP_WITH_OWN_ENROLMENT);
  const appLogIn = await passwordLogInAt(new Browser(app.url), ownEnrolment, other);
  t.true(appLogIn.url.startsWith(APP_WITH_OWN_ENROLMENT.redirect_uris[0]!), 'an app that enrols passkeys itself');
});

test.serial('every offer and what became of it is counted, in the audit trail, the statistics and the metrics', async (t) => {
  const offer = createPasskeyOffer({ ...app.store, clock: () => now, snoozeDays: 30 });
  const before = await offer.stats(1);
  const metricsBefore = await scrape(app.metricsUrl!);
  const member = await eligibleMember();
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  const { final, url } = await passwordLogInAt(browser, rp, member);
  await browser.get(url);
  await browser.post(`${url}/offer/dismiss`, { csrf: hiddenField(final.html, 'csrf') });
  const after = await offer.stats(1);
  t.is(after.offered, before.offered + 1, 'shown twice, counted once');
  t.is(after.dismissed, before.dismissed + 1);
  const metricsAfter = await scrape(app.metricsUrl!);
  for (const outcome of ['offered', 'dismissed']) {
    const moved = metricsAfter.value('jmb_passkey_offer_total', { outcome }) - metricsBefore.value('jmb_passkey_offer_total', { outcome });
    t.is(moved, 1, `the funnel's ${outcome} step`);
  }
  const trail = (await app.store.audit.listForMember(member.id, 10)).map((event) => event.type);
  t.true(trail.includes('passkey_offer.offered'));
  t.true(trail.includes('passkey_offer.dismissed'));
});

test.serial('"Set up a passkey" pressed again and again, or at once from two tabs, counts one acceptance for the sign-in', async (t) => {
  const offer = createPasskeyOffer({ ...app.store, clock: () => now, snoozeDays: 30 });
  const before = await offer.stats(1);
  const member = await eligibleMember();
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  const { final, url } = await passwordLogInAt(browser, rp, member);
  t.true(isOffer(final));
  const accept = () => browser.post(`${url}/offer/accept`, { csrf: hiddenField(final.html, 'csrf') });
  const answers = [await accept(), await accept(), ...(await Promise.all([accept(), accept(), accept()]))];
  for (const answer of answers) {
    t.is(answer.status, 303, 'each press still goes on to the next step');
    t.is(answer.location, `${url}/offer/sms`);
  }

  const after = await offer.stats(1);
  t.is(after.accepted, before.accepted + 1, 'one sign-in, one acceptance');
  t.is(after.offered, before.offered + 1);
  const trail = (await app.store.audit.listForMember(member.id, 50)).filter((event) => event.type === 'passkey_offer.accepted');
  t.is(trail.length, 1, 'one audit row');

  const elsewhere = new Browser(app.url);
  const another = await passwordLogInAt(elsewhere, rp, member);
  t.true(isOffer(another.final), 'the member is offered again at the next sign-in');
  await elsewhere.post(`${another.url}/offer/accept`, { csrf: hiddenField(another.final.html, 'csrf') });
  t.is((await offer.stats(1)).accepted, before.accepted + 2, 'another sign-in, another acceptance');
});
