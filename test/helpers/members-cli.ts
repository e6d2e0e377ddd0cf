/** The members tool run as an operator would, on a temporary database. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../../src/store/open.ts';
import type { Member } from '../../src/store/port.ts';

export const PASSWORD = 'Fuji-san 3776m';
export const taroArgs = ['--number', '300000001', '--name', 'Taro Yamada', '--phone', '+819012345678', '--country', 'JP'];

export type Run = { code: number | null; stdout: string; stderr: string };

/** Runs the members tool as an operator would, under the same Node as the tests. */
export function members(args: string[], options: { env: NodeJS.ProcessEnv; input?: string }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli/members.ts', ...args], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { PATH: process.env.PATH, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** A fresh database file (and DATA_DIR, where the SMS outbox goes) and a `run` bound to it; removed after the test. */
export function tempDatabase(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-members-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { DATABASE_URL: `sqlite:${path.join(dir, 'jmb.db')}`, DATA_DIR: dir };
  const run = (args: string[], input?: string) => members(args, { env, input });
  const stored = async (number: string): Promise<Member | undefined> => {
    const store = await openStore(env.DATABASE_URL);
    try {
      return await store.members.findByNumber(number);
    } finally {
      await store.close();
    }
  };
  return { dir, run, stored, env };
}

/** Nothing on stdout, and exactly one line on stderr matching `reason`. */
export function assertOneLineReason(t: { regex(s: string, r: RegExp): void; is(a: unknown, b: unknown): void }, result: Run, reason: RegExp) {
  t.is(result.stdout, '');
  t.regex(result.stderr, /^[^\n]+\n$/);
  t.regex(result.stderr, reason);
}

