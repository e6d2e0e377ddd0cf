import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

/** `npm start` as an operator runs it (PORT=0: any free port), on the database in `dir`. */
function startIdp(dir: string): ChildProcess & { output: Promise<{ code: number | null; stderr: string }>; listening: Promise<void> } {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.includes('"msg":"listening"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the IdP exited with ${code}: ${stderr}`)));
  });
  listening.catch(() => undefined);
  const output = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('close', (code) => resolve({ code, stderr })));
  return Object.assign(child, { output, listening });
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a second IdP on the same SQLite file refuses to start with one line; the members tool still works; a SIGKILLed IdP blocks nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-one-process-'));
  const first = startIdp(dir);
  t.teardown(() => {
    first.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await first.listening;

  const second = startIdp(dir);
  const refused = await second.output;
  t.is(refused.code, 1);
  const lines = refused.stderr.trim().split('\n');
  t.is(lines.length, 1, refused.stderr);
  t.true(lines[0]!.includes(path.join(dir, 'jmb-idp.db')), 'names the file');
  t.true(lines[0]!.includes(`pid ${first.pid}`), 'names the process holding it');
  t.regex(lines[0]!, /PostgreSQL \(DATABASE_URL=postgres:/);

  const added = await run(['src/cli/members.ts', 'add', '--number', '300000001', '--name', 'Taro Yamada', '--phone', '+819012345678', '--country', 'JP', '--password', 'try-me-123'], { DATA_DIR: dir });
  t.is(added.code, 0, added.stderr);

  const exited = new Promise((resolve) => first.once('exit', resolve));
  first.kill('SIGKILL');
  await exited;
  const next = startIdp(dir);
  t.teardown(() => next.kill('SIGKILL'));
  await t.notThrowsAsync(next.listening, 'the next start after a crash serves the file');
});
