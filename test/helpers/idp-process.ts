/**
 * The IdP as an operator runs it: `node src/main.ts` in a child process of its own, configured by
 * its environment alone, its JSON log lines collected. For tests that need several IdP processes on
 * one database, `kill -9`, or WORKERS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export type LogLine = Record<string, unknown> & { msg: string };

export type IdpProcess = {
  child: ChildProcess;
  pid: number;
  /** `http://127.0.0.1:<PORT>`: where this process (not the issuer) listens. */
  url: string;
  /** Every JSON line written to standard output so far. */
  lines(): LogLine[];
  stderr(): string;
  /** Resolves with the first line (already written or still to come) that `matches`; rejects if the process exits first. */
  line(matches: (line: LogLine) => boolean, what?: string): Promise<LogLine>;
  /** Resolves once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (or `signal`), then waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const root = path.resolve(import.meta.dirname, '../..');
const LONGEST_WAIT_MS = 90_000;

/** Spawns the IdP with `env` (PORT among it) and resolves once it logs `listening`. */
export async function startIdpProcess(env: Record<string, string>, options: { waitFor?: string } = {}): Promise<IdpProcess> {
  const idp = spawnIdp(env);
  await idp.line((line) => line.msg === (options.waitFor ?? 'listening'), `"${options.waitFor ?? 'listening'}" from the IdP`);
  return idp;
}

/** Spawns the IdP with `env`, without waiting for anything. */
export function spawnIdp(env: Record<string, string>): IdpProcess {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = () => child.kill('SIGKILL');
  // Never left behind, whatever happens to the test.
  process.once('exit', kill);
  const lines: LogLine[] = [];
  const waiting = new Set<() => void>();
  let stderr = '';
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const complete = pending.split('\n');
    pending = complete.pop()!;
    for (const text of complete) {
      if (!text.trim()) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        lines.push({ msg: text });
      }
    }
    for (const check of waiting) check();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      process.removeListener('exit', kill);
      resolve({ code, signal });
      for (const check of waiting) check();
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });

  return {
    child,
    pid: child.pid!,
    url: `http://127.0.0.1:${env.PORT}`,
    lines: () => lines,
    stderr: () => stderr,
    line(matches, what = 'a log line') {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${what} within ${LONGEST_WAIT_MS / 1000} s; stderr:\n${stderr}`)), LONGEST_WAIT_MS);
        const finish = (error?: Error, found?: LogLine) => {
          clearTimeout(timer);
          waiting.delete(check);
          if (error) reject(error);
          else resolve(found!);
        };
        const check = () => {
          const found = lines.find(matches);
          if (found) finish(undefined, found);
          else if (done || child.exitCode !== null || child.signalCode !== null) finish(new Error(`the IdP exited before ${what}; stderr:\n${stderr}`));
        };
        waiting.add(check);
        check();
      });
    },
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
