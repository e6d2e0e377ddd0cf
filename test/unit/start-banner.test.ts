import test from 'ava';
import { ADD_FIRST_MEMBER, printStartBanner, startBanner } from '../../src/start-banner.ts';
import { openStore } from '../../src/store/open.ts';
import { createMember } from '../helpers/members.ts';
import { tempDatabase } from '../helpers/members-cli.ts';

const ISSUER = 'http://localhost:3000';

/** Standard output as a test sees it: a terminal or not, and what was written to it. */
const output = (isTTY: boolean) => {
  const written: string[] = [];
  return { isTTY, written, write: (text: string) => written.push(text) };
};

test('the banner names the address to open and, with no member yet, the command that adds one', (t) => {
  const first = startBanner({ issuer: ISSUER, anyMember: false });
  t.regex(first, /^JMB IdP is listening: open http:\/\/localhost:3000 in a browser\.\n/);
  t.true(first.includes(`\n  ${ADD_FIRST_MEMBER}\n`));
  t.is(startBanner({ issuer: ISSUER, anyMember: true }), 'JMB IdP is listening: open http://localhost:3000 in a browser.\n');
});

test('at a terminal the banner is written, its member line while the store has no member', async (t) => {
  const store = await openStore('sqlite::memory:');
  t.teardown(() => store.close());
  const empty = output(true);
  await printStartBanner(empty, ISSUER, store.members);
  t.deepEqual(empty.written, [startBanner({ issuer: ISSUER, anyMember: false })]);

  await createMember(store);
  const withMember = output(true);
  await printStartBanner(withMember, ISSUER, store.members);
  t.deepEqual(withMember.written, [startBanner({ issuer: ISSUER, anyMember: true })]);
});

test('to a pipe or a file nothing is written beside the JSON log, and the store is not asked', async (t) => {
  const piped = output(false);
  await printStartBanner(piped, ISSUER, { list: () => t.fail('the store was asked') as never });
  await printStartBanner({ write: piped.write }, ISSUER, { list: () => t.fail('the store was asked') as never });
  t.deepEqual(piped.written, []);
});

test('a store that cannot answer leaves the address line, not an error', async (t) => {
  const terminal = output(true);
  await printStartBanner(terminal, ISSUER, { list: () => Promise.reject(new Error('store unavailable')) });
  t.deepEqual(terminal.written, [startBanner({ issuer: ISSUER, anyMember: true })]);
});

test('the command the banner shows, pasted into a shell, adds that member', async (t) => {
  const { run, stored } = tempDatabase(t);
  const [, args] = /^npm run members -- (.*)$/.exec(ADD_FIRST_MEMBER)!;
  // The shell's reading of the line: words, single quotes kept together and removed.
  const words = [...args!.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2]!);
  const added = await run(words);
  t.is(added.code, 0, added.stderr);
  t.like(await stored('300000001'), { name: 'Taro Yamada', phone: '+819012345678', country: 'JP' });
});
