import test from 'ava';
import { countdownClock, secondsUntil } from '../../interactions/login-wait.ts';
import { japanTime } from '../../src/i18n/japan-time.ts';
import { translator } from '../../src/i18n/messages.ts';
import { createWaits } from '../../src/auth/password/waits.ts';
import { loadMemberHelp } from '../../src/config/member-help.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

test('a wait is shown as the first whole minute at which a try is sure to be accepted', (t) => {
  const at = (time: string) => new Date(`2026-04-01T${time}Z`);
  const shown = (time: string) => japanTime(translator('en'), 'en', at(time));
  t.is(shown('04:35:21.500'), '1:36 PM (JST)');
  t.is(shown('04:35:00.001'), '1:36 PM (JST)');
  t.is(shown('04:35:00.000'), '1:35 PM (JST)', 'a wait that ends on the minute is shown as that minute');
  t.is(japanTime(translator('ja'), 'ja', at('04:35:21.500')), '日本時間13:36');
  t.is(secondsUntil(at('04:35:21.500'), at('04:35:06.000').getTime()), 16);
  t.is(secondsUntil(at('04:35:21.500'), at('04:35:30.000').getTime()), 1, 'never less than a second');
  t.deepEqual([countdownClock(16), countdownClock(60), countdownClock(900)], ['0:16', '1:00', '15:00']);
});

test('each reservation says how many more tries the key takes before one has to wait', async (t) => {
  let now = Date.parse('2026-04-01T04:00:00Z');
  const store = openSqliteStore(':memory:', () => now);
  t.teardown(() => store.close());
  const waits = createWaits(store.counters, { baseSeconds: 30, maxSeconds: 900, memorySeconds: 3600 });
  const left = [];
  for (let i = 0; i < 4; i++) {
    const reservation = await waits.reserve('number:300000001', 3);
    t.true(reservation.taken);
    if (reservation.taken) left.push([reservation.triesLeft, reservation.waitUntil !== undefined]);
  }
  t.deepEqual(left, [[3, false], [2, false], [1, false], [0, true]], 'three free failures, then the turn whose failure starts a wait');
  t.false((await waits.reserve('number:300000001', 3)).taken, 'the next try waits');
  const other = await waits.reserve('device:another-browser', 3);
  t.true(other.taken && other.triesLeft === 3, 'every key counts on its own');
  now += 31_000;
  const after = await waits.reserve('number:300000001', 3);
  t.true(after.taken && after.triesLeft === 0, 'after a wait one try, whose failure starts the next wait');
});

test('PASSWORD_HELP_URL must be https in production; SUPPORT_CONTACT is plain text', (t) => {
  const load = (env: Record<string, string>, production = false) => {
    const problems: string[] = [];
    return { help: loadMemberHelp(env, production, problems), problems };
  };
  t.deepEqual(load({}), { help: {}, problems: [] }, 'both are optional');
  t.deepEqual(load({ PASSWORD_HELP_URL: 'https://jmb.example/reset', SUPPORT_CONTACT: ' 0570-025-071\n9:00–17:30 ' }, true).help,
    { passwordHelpUrl: 'https://jmb.example/reset', supportContact: '0570-025-071\n9:00–17:30' });
  t.deepEqual(load({ PASSWORD_HELP_URL: 'http://localhost:3001/reset' }).problems, [], 'http outside production');
  t.regex(load({ PASSWORD_HELP_URL: 'http://jmb.example/reset' }, true).problems[0] ?? '', /^PASSWORD_HELP_URL must be an https URL/);
  t.regex(load({ PASSWORD_HELP_URL: 'javascript:alert(1)' }).problems[0] ?? '', /^PASSWORD_HELP_URL must be an http\(s\) URL/);
  t.regex(load({ PASSWORD_HELP_URL: 'jmb.example/reset' }).problems[0] ?? '', /^PASSWORD_HELP_URL must be/);
  t.regex(load({ SUPPORT_CONTACT: 'call \u0007 us' }).problems[0] ?? '', /^SUPPORT_CONTACT: must be plain text/);
  t.regex(load({ SUPPORT_CONTACT: 'x'.repeat(501) }).problems[0] ?? '', /^SUPPORT_CONTACT/);
});
