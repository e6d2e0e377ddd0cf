import test from 'ava';
import { verifyPassword } from '../../src/members/password.ts';
import { Browser, alertText, hiddenField } from '../helpers/browser.ts';
import { scryptHash } from '../helpers/legacy-password.ts';
import { passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// One of OWASP's equally strong argon2id settings, other than the default, to show the settings are used.
const SETTINGS = { PASSWORD_ARGON2_MEMORY_KIB: '12288', PASSWORD_ARGON2_PASSES: '3', PASSWORD_ARGON2_PARALLELISM: '1' };
const AT_SETTINGS = '$argon2id$v=19$m=12288,t=3,p=1$';

let app: TestApp;
test.before(async () => {
  app = await startTestApp({ env: SETTINGS });
});
test.after.always(async () => app?.stop());

async function logsIn(number: string, password: string): Promise<string | undefined> {
  const rp = await RelyingParty.website(app);
  const flow = await rp.start();
  const tokens = await rp.redeem(await passwordLogIn(new Browser(app.url), flow.url, number, password), flow);
  return tokens.claims()?.sub;
}

const storedHash = async (id: string) => (await app.store.members.findById(id))!.passwordHash;

test('a member whose password was hashed with scrypt logs in, and from then on has an argon2id hash at the settings that works', async (t) => {
  const member = await createMember(app.store);
  await app.store.members.update(member.id, { passwordHash: scryptHash(member.password) });
  t.is(await logsIn(member.number, member.password), member.id);
  const upgraded = await storedHash(member.id);
  t.true(upgraded.startsWith(AT_SETTINGS), upgraded.slice(0, 40));
  t.true(await verifyPassword(member.password, upgraded));
  t.false(await verifyPassword('not the password', upgraded));
  t.is(await logsIn(member.number, member.password), member.id);
  t.is(await storedHash(member.id), upgraded, 'made once');
});

test('a member whose argon2id hash has another cost is re-hashed at the settings on the next log-in', async (t) => {
  const member = await createMember(app.store);
  t.true((await storedHash(member.id)).startsWith('$argon2id$v=19$m=19456,t=2,p=1$'));
  t.is(await logsIn(member.number, member.password), member.id);
  t.true((await storedHash(member.id)).startsWith(AT_SETTINGS));
});

test('an unknown number gets the answer a member with an old hash and a wrong password gets', async (t) => {
  const member = await createMember(app.store);
  const legacy = scryptHash(member.password);
  await app.store.members.update(member.id, { passwordHash: legacy });
  const attempt = async (number: string) => {
    const browser = new Browser(app.url);
    const { final, url } = await browser.follow((await (await RelyingParty.website(app)).start()).url);
    const response = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number, password: 'not the password' });
    return { status: response.status, alert: alertText(response.html) };
  };
  const wrong = await attempt(member.number);
  t.deepEqual(await attempt('999999998'), wrong);
  t.is(wrong.status, 401);
  t.is(await storedHash(member.id), legacy, 'a failed log-in changes no hash');
});
