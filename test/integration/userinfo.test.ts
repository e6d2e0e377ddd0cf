import test from 'ava';
import { Browser } from '../helpers/browser.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
test.before(async () => {
  app = await startTestApp();
});
test.after.always(async () => app?.stop());

const userinfo = (init: RequestInit = {}) => fetch(`${app.url}/me`, init);
const challenges = (response: Response) => response.headers.get('www-authenticate') ?? '';

test('without any credentials: 401 with the challenges alone, no error code and no body (RFC 6750 3.1)', async (t) => {
  const requests: [string, RequestInit][] = [
    ['GET', {}],
    ['POST without a body', { method: 'POST' }],
    ['POST with an empty form', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' }],
  ];
  for (const [what, init] of requests) {
    const response = await userinfo(init);
    t.is(response.status, 401, what);
    t.regex(challenges(response), new RegExp(`^Bearer realm="${app.url}"`), what);
    t.notRegex(challenges(response), /error=/, what);
    t.is(await response.text(), '', what);
  }
});

test('a bad token: 401 with invalid_token in the challenge and the body', async (t) => {
  const response = await userinfo({ headers: { authorization: 'Bearer not-a-token-we-issued' } });
  t.is(response.status, 401);
  t.regex(challenges(response), /^Bearer realm="[^"]+", error="invalid_token"/);
  t.like(await response.json(), { error: 'invalid_token' });
});

test('a good token: the member\'s claims', async (t) => {
  const member = await createMember(app.store);
  const rp = await RelyingParty.website(app);
  const flow = await rp.start({ scope: 'openid profile' });
  const tokens = await rp.redeem(await passwordLogIn(new Browser(app.url), flow.url, member.number, member.password), flow);
  const response = await userinfo({ headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { sub: member.id, name: member.name });
});
