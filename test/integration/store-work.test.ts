import test from 'ava';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { scrape } from '../helpers/metrics.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { WEBSITE, createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// The store work of a log-in is what bounds throughput on the embedded store. Statement counts are
// deterministic: a count that grows is something a change must justify (docs/benchmarks.md).

/**
 * SQL statements of one passkey log-in, from the authorization request to the token response: 14
 * since the assertion reads its passkey, the member and the member's passkeys in one statement (16
 * before; 15 when the throughput issue was filed, before the Signal API's list of passkeys).
 */
const STATEMENTS_PER_PASSKEY_LOG_IN = 14;

// The website as the benchmark's client is registered: the code flow, no refresh token.
const CLIENT = { ...WEBSITE, grant_types: ['authorization_code'] };

let app: TestApp;
/** Every read of a member that reached the store, in order: by id, or with a passkey at log-in. */
const memberReads: string[] = [];
test.before(async () => {
  app = await startTestApp({ metrics: true, clients: [CLIENT], env: { PASSKEY_OFFER: 'on' } });
  const { members, passkeys } = app.store;
  const findById = members.findById.bind(members);
  members.findById = (id) => {
    memberReads.push(id);
    return findById(id);
  };
  const forLogIn = passkeys.forLogIn.bind(passkeys);
  passkeys.forLogIn = (id) => {
    memberReads.push(`with passkey ${id}`);
    return forLogIn(id);
  };
});
test.after.always(async () => app?.stop());

const rp = () => RelyingParty.discover(app, { clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret, redirectUri: CLIENT.redirect_uris[0]! });

/** Runs one request and says how many times it read a member from the store. */
async function reading<T>(request: () => Promise<T>): Promise<{ result: T; reads: number }> {
  const before = memberReads.length;
  const result = await request();
  return { result, reads: memberReads.length - before };
}

/**
 * A passkey log-in one request at a time: authorize, log-in page, options, assertion, resume, token.
 * Returns the member reads of each request.
 */
async function passkeyLogIn(relyingParty: RelyingParty, passkey: Awaited<ReturnType<typeof enrolSoftPasskey>>) {
  const browser = new Browser(app.url);
  const flow = await relyingParty.start({ scope: 'openid profile' });
  const authorize = await reading(() => browser.get(flow.url));
  const page = await reading(() => browser.get(authorize.result.location!));
  const interaction = authorize.result.location!;
  const options = await reading(() => browser.postJson(`${interaction}/passkey/options`));
  const assertion = await reading(() => browser.postJson(`${interaction}/passkey`, passkey.assert(options.result.json, browser.origin)));
  const resume = await reading(() => browser.get(assertion.result.json.redirectTo));
  const token = await reading(() => relyingParty.redeem(resume.result.location!, flow));
  return { authorize, page, options, assertion, resume, token };
}

test.serial('a passkey log-in runs at most the counted store statements', async (t) => {
  const member = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
  const relyingParty = await rp();
  const statements = async () => (await scrape(app.metricsUrl!)).value('jmb_store_statements_total');
  const before = await statements();
  const { token } = await passkeyLogIn(relyingParty, passkey);
  const ran = (await statements()) - before;
  t.is(token.result.claims()?.sub, member.id);
  t.true(ran > 0, 'the statements are counted');
  t.true(ran <= STATEMENTS_PER_PASSKEY_LOG_IN, `a passkey log-in ran ${ran} statements, at most ${STATEMENTS_PER_PASSKEY_LOG_IN} expected`);
});

test.serial('each request of a passkey log-in reads the member at most once', async (t) => {
  const member = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
  const steps = await passkeyLogIn(await rp(), passkey);
  t.deepEqual(Object.fromEntries(Object.entries(steps).map(([step, { reads }]) => [step, reads])),
    { authorize: 0, page: 0, options: 0, assertion: 1, resume: 1, token: 1 });
});

test.serial('resuming after a password log-in reads the member once for the account and the passkey offer together', async (t) => {
  // Eligible for the offer: resident in Japan, on a Japanese mobile number, without a passkey.
  const member = await createMember(app.store, { phone: '+819011112222', country: 'JP' });
  const browser = new Browser(app.url);
  const { final, url } = await browser.follow((await (await rp()).start()).url);
  const posted = await reading(() => browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password }));
  t.is(posted.result.status, 303);
  const resume = await reading(() => browser.get(posted.result.location!));
  const offer = await reading(() => browser.get(resume.result.location!));
  t.regex(offer.result.html, /Log in faster next time with a passkey/, 'the offer was decided on during the resume');
  t.deepEqual([posted.reads, resume.reads, offer.reads], [0, 1, 1]);
});

test.serial('the member is read again by the next request, so a change between requests is seen', async (t) => {
  const member = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
  const relyingParty = await rp();
  const browser = new Browser(app.url);
  const flow = await relyingParty.start({ scope: 'openid profile' });
  const { url } = await browser.follow(flow.url);
  const options = await browser.postJson(`${url}/passkey/options`);
  const assertion = await browser.postJson(`${url}/passkey`, passkey.assert(options.json, browser.origin));
  t.is(assertion.status, 200);
  await app.store.members.update(member.id, { status: 'disabled' });
  const resume = await browser.get(assertion.json.redirectTo);
  t.false((resume.location ?? '').includes('code='), 'a member disabled after the assertion gets no code');
});
