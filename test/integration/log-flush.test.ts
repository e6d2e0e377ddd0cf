import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { freePort } from '../helpers/ports.ts';
import { WEBSITE } from '../helpers/test-app.ts';

const root = path.resolve(import.meta.dirname, '../..');
const log = new URL('../../src/log.ts', import.meta.url).href;
const uncaught = new URL('../../src/uncaught.ts', import.meta.url).href;
const LINES = 5_000;

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs `child` to its end with stdout and stderr to pipes, as under systemd, Docker or Kubernetes. */
function finished(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** A process that logs LINES lines through the IdP's logger to stdout, then ends the way `end` says. */
function logThenEnd(end: string, prelude = ''): Promise<Run> {
  const script = `
    import { createLogger } from '${log}';
    import { exitOnUncaughtErrors } from '${uncaught}';
    // As main.ts wires them: the last resort on stderr, and every exit writing out the log first.
    const output = createLogger('info');
    exitOnUncaughtErrors(createLogger('error', (line) => process.stderr.write(line)), (code) => { output.flushSync(); process.exit(code); });
    ${prelude}
    for (let i = 0; i < ${LINES}; i++) output.info('line', { i, path: '/interaction/' + 'x'.repeat(i % 300) });
    ${end}`;
  return finished(spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Each line of `text` parsed, failing the test on any line that is not one JSON object. */
function entries(t: ExecutionContext, text: string): Record<string, unknown>[] {
  const lines = text.split('\n');
  t.is(lines.pop(), '', 'the output ends with a whole line');
  return lines.map((line) => {
    const entry: unknown = JSON.parse(line);
    t.true(typeof entry === 'object' && entry !== null && !Array.isArray(entry), line);
    return entry as Record<string, unknown>;
  });
}

function assertEveryLine(t: ExecutionContext, stdout: string): void {
  const logged = entries(t, stdout).filter((entry) => entry.msg === 'line');
  t.is(logged.length, LINES, 'every line logged reaches stdout');
  t.deepEqual(new Set(logged.map((entry) => entry.i)).size, LINES, 'each once');
}

test('a line logged alone, in a quiet moment, reaches the pipe while the process runs on', async (t) => {
  // Lines are gathered into larger writes; an operator watching a quiet IdP still sees each at once.
  // The process then idles for ten minutes: a line held back until it ends would come far too late.
  const script = `
    import { createLogger } from '${log}';
    const output = createLogger('info');
    output.info('alone', { n: 1 });
    process.stderr.write('logged\\n');
    setTimeout(() => {}, 600_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stderr!.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('logged') && resolve()));
  let seen = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { seen += chunk; });
  // Ten seconds after it was logged, a hundred times the flush interval: ample on a busy machine.
  for (let waited = 0; !seen.includes('\n') && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(child.exitCode, null, 'the process is still running');
  t.true(seen.includes('\n'), 'the line arrived while the process was still running');
  t.like(JSON.parse(seen.split('\n')[0]!), { level: 'info', msg: 'alone', n: 1 });
});

test('lines still buffered when the process calls process.exit are written', async (t) => {
  const run = await logThenEnd('process.exit(0);');
  t.is(run.code, 0);
  assertEveryLine(t, run.stdout);
});

test('lines still buffered when the process has nothing left to do are written', async (t) => {
  const run = await logThenEnd('');
  t.is(run.code, 0);
  assertEveryLine(t, run.stdout);
});

test('an error nothing caught: every line logged before it, and the last-resort line, arrive whole', async (t) => {
  const run = await logThenEnd('setTimeout(() => { throw new Error("the last straw"); });');
  t.is(run.code, 1);
  assertEveryLine(t, run.stdout);
  const [last, ...more] = entries(t, run.stderr);
  t.like(last, { level: 'error', msg: 'the IdP stopped on an error nothing caught', error: { message: 'the last straw' } });
  t.deepEqual(more, []);
});

test('a crash while the thread pool is busy (password hashes) still loses no line and breaks none', async (t) => {
  // Every thread of libuv's pool hashing: the write under way waits its turn while the rest is flushed.
  const busy = `import { scrypt } from 'node:crypto';
    for (let k = 0; k < 4; k++) scrypt('password', 'salt', 64, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, () => {});`;
  const run = await logThenEnd('throw new Error("the last straw");', busy);
  t.is(run.code, 1);
  assertEveryLine(t, run.stdout);
  t.like(entries(t, run.stderr)[0], { level: 'error', error: { message: 'the last straw' } });
});

test('SIGTERM: the IdP writes a line for every request it answered, then its last line, then exits', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-idp-flush-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const clientsFile = path.join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([WEBSITE]));
  const server = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, PORT: String(port), ISSUER: issuer, DATA_DIR: dir, DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`, OIDC_CLIENTS_FILE: clientsFile, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => server.kill('SIGKILL'));
  const run = finished(server);
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (chunk: string) => (chunk.includes('"msg":"listening"') ? resolve() : undefined));
    void run.then(({ code, stderr }) => reject(new Error(`the IdP exited (${code}) before listening: ${stderr}`)));
  });

  const requests = 300;
  const statuses = await Promise.all(Array.from({ length: requests }, (_, i) => fetch(`${issuer}/healthz?n=${i}`).then((response) => response.status)));
  t.deepEqual(new Set(statuses), new Set([200]));
  server.kill('SIGTERM');
  const { code, stdout, stderr } = await run;
  t.is(code, 0);
  t.is(stderr, '');
  const lines = entries(t, stdout);
  t.is(lines.filter((entry) => entry.msg === 'request' && entry.path === '/healthz').length, requests);
  t.is(lines.at(-1)?.msg, 'shutting down');
});
