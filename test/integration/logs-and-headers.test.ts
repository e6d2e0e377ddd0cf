import test from 'ava';
import * as client from 'openid-client';
import { createLogger } from '../../src/log.ts';
import { Browser, hiddenField } from '../helpers/browser.ts';
import { MemorySms } from '../helpers/memory-sms.ts';
import { passkeyLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

const lines: string[] = [];
const sms = new MemorySms();
let app: TestApp;
test.before(async () => {
  app = await startTestApp({ sms, logger: createLogger('debug', (line) => lines.push(line)), env: { TRUST_PROXY: '1' } });
});
test.after.always(async () => app?.stop());

test.serial('logs never hold a password, a code, a token or a cookie', async (t) => {
  const member = await createMember(app.store, { phone: '+819087654321', password: 'a very secret passphrase 42' });
  const rp = await RelyingParty.website(app);
  const browser = new Browser(app.url);
  const flow = await rp.start({ acr_values: 'urn:jmb:loa:2' });
  const { final, url } = await browser.follow(flow.url);
  await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: 'a wrong passphrase 43' });
  const posted = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number: member.number, password: member.password });
  const step = await browser.follow(posted.location!);
  const code = sms.lastCode(member.phone);
  const verified = await browser.post(`${step.url}/sms/verify`, { csrf: hiddenField(step.final.html, 'csrf'), code });
  const { url: callback } = await browser.follow(verified.location!);
  const tokens = await rp.redeem(callback, flow);
  const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
  const second = await rp.start();
  await passkeyLogIn(new Browser(app.url), second.url, passkey);

  const log = lines.join('');
  t.true(lines.length > 20, 'there is a log line per request');
  const secrets = {
    password: member.password,
    'wrong password': 'a wrong passphrase 43',
    'SMS code': code,
    'authorization code': new URL(callback).searchParams.get('code')!,
    'access token': tokens.access_token,
    'refresh token': tokens.refresh_token!,
    'rotated refresh token': refreshed.refresh_token!,
    'ID token': tokens.id_token!,
    // The interaction cookies hold the interaction id, which its URL path carries anyway; their
    // signatures (the `.sig` cookies) are what make them unforgeable, and those are checked here.
    // `jmb.from` holds the client id the member came from, which the log names anyway.
    ...Object.fromEntries(browser.cookies.filter((c) => !['_interaction', '_interaction_resume', 'jmb.from'].includes(c.name)).map((c) => [`cookie ${c.name}`, c.value])),
  };
  for (const [what, secret] of Object.entries(secrets)) t.false(log.includes(secret), `the log holds the ${what}`);
  t.false(log.includes(member.phone), 'the full phone number');
});

test.serial('HSTS is sent when the request arrived over https through a trusted proxy, and not over plain http', async (t) => {
  const https = await fetch(`${app.url}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
  t.regex(https.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
  const plain = await fetch(`${app.url}/healthz`);
  t.is(plain.headers.get('strict-transport-security'), null);
});

test.serial('each request is logged once, with the client address the trusted proxy saw and no query', async (t) => {
  const before = lines.length;
  // One proxy (TRUST_PROXY=1) appends the address it saw; whatever stands to its left the client wrote.
  await fetch(`${app.url}/healthz?secret=1`, { headers: { 'x-forwarded-for': '10.0.0.1, 203.0.113.7' } });
  await fetch(`${app.url}/.well-known/openid-configuration`, { headers: { 'x-forwarded-for': '198.51.100.23' } });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const logged = lines.slice(before).map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request');
  t.like(logged.find((entry) => entry.path === '/healthz'), { method: 'GET', status: 200, ip: '203.0.113.7' });
  t.like(logged.find((entry) => entry.path === '/.well-known/openid-configuration'), { method: 'GET', status: 200, ip: '198.51.100.23' });
  t.is(logged.length, 2);
  t.false(lines.slice(before).join('').includes('secret=1'));
});
