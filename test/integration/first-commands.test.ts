/**
 * The two commands a newcomer types first, as a person runs them in a terminal: `npm start` tells
 * them where to go and how to add a member; `npm run demo` beside a running IdP says why it cannot
 * start, in one line. (`npm start` writing to a pipe prints JSON lines only: json-output.test.ts.)
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADD_FIRST_MEMBER } from '../../src/start-banner.ts';
import { freePort } from '../helpers/ports.ts';
import { startTestApp } from '../helpers/test-app.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** Everything a child writes, and its exit. */
function watch(child: ChildProcessWithoutNullStreams) {
  const seen = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { seen.stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { seen.stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { seen, exited };
}

test('npm run demo while another IdP holds the database file says so in one line and exits 1', async (t) => {
  // The test app is an IdP serving its file, as `npm start` in another terminal would be.
  const app = await startTestApp();
  t.teardown(() => app.stop());
  const demo = spawn(process.execPath, ['demo/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, DATA_DIR: app.dir, DATABASE_URL: `sqlite:${path.join(app.dir, 'idp.db')}`, PORT: String(await freePort()), DEMO_PORT: String(await freePort()) },
  });
  t.teardown(() => demo.kill('SIGKILL'));
  const { seen, exited } = watch(demo);

  t.is(await exited, 1);
  t.regex(seen.stderr, /^demo: the database \S+idp\.db is in use by another IdP process \(pid \d+\): [^\n]+\n$/);
  t.true(seen.stderr.includes(`(pid ${process.pid})`), 'it names the process that holds the file');
  t.notRegex(seen.stderr, /\n\s+at /, 'no stack trace');
  t.is(seen.stdout, '');
});

const script = spawnSync('script', ['--version']).status === 0;

(script ? test : test.skip)('npm start at a terminal prints where to open the IdP and how to add a first member', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-idp-terminal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  // util-linux's script(1) gives the IdP a pseudo-terminal for its standard output, as a person's has.
  const idp = spawn('script', ['--quiet', '--return', '--command', `${JSON.stringify(process.execPath)} src/main.ts`, '/dev/null'], {
    cwd: root,
    env: { PATH: process.env.PATH, PORT: String(port), ISSUER: issuer, DATA_DIR: dir, PASSKEY_OFFER: 'off' },
  });
  // Closing script's terminal hangs up the IdP inside it.
  t.teardown(() => idp.kill('SIGKILL'));
  const { seen, exited } = watch(idp);
  await new Promise<void>((resolve, reject) => {
    // The log is written off the event loop: its line may come after the banner.
    idp.stdout.on('data', () => (seen.stdout.includes(ADD_FIRST_MEMBER) && seen.stdout.includes('"msg":"listening"') ? resolve() : undefined));
    void exited.then((code) => reject(new Error(`the IdP exited (${code}) before its banner: ${seen.stdout}${seen.stderr}`)));
  });

  const lines = seen.stdout.split(/\r?\n/);
  t.true(lines.some((line) => line.startsWith('{') && line.includes('"msg":"listening"')), 'the JSON log line is there too');
  t.true(lines.includes(`JMB IdP is listening: open ${issuer} in a browser.`));
  t.true(lines.includes(`  ${ADD_FIRST_MEMBER}`));
});
