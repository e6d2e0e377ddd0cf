/**
 * `npm run test:loaded`: `npm test` while two CPU-bound processes run beside it (Debian's
 * `stress-ng --cpu 2`), as on a busy developer's or operator's machine. Arguments go on to ava
 * (`npm run test:loaded -- test/integration`). Exits with npm test's code; stress-ng is stopped
 * whatever happens, and stops itself after an hour should this script be killed outright.
 */
import { spawn, spawnSync } from 'node:child_process';

const CPU_HOGS = '2';
const STRESS_AT_MOST_SECONDS = '3600';

if (spawnSync('stress-ng', ['--version'], { stdio: 'ignore' }).error) {
  process.stderr.write('test:loaded: stress-ng is not installed. On Debian or Ubuntu: sudo apt-get install -y stress-ng\n');
  process.exit(1);
}

const stress = spawn('stress-ng', ['--cpu', CPU_HOGS, '--timeout', STRESS_AT_MOST_SECONDS, '--quiet'], { stdio: 'ignore' });
const stressEnded = new Promise<void>((resolve) => stress.once('exit', () => resolve()));
process.stderr.write(`test:loaded: npm test beside stress-ng --cpu ${CPU_HOGS} (pid ${stress.pid})\n`);

const extra = process.argv.slice(2);
const tests = spawn('npm', ['test', ...(extra.length ? ['--', ...extra] : [])], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => tests.kill(signal));

const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => tests.once('exit', (...ended) => resolve(ended)));
stress.kill('SIGTERM');
await stressEnded;
process.stderr.write(`test:loaded: npm test ${code === 0 ? 'passed' : `failed (${signal ?? `exit code ${code}`})`} beside stress-ng --cpu ${CPU_HOGS}\n`);
process.exit(code ?? 1);
