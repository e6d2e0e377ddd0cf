/** `npm run keys` as an operator runs it, under the same Node as the tests. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export type KeysRun = { code: number | null; stdout: string; stderr: string; rows: Record<string, string | null>[] };

export function runKeys(args: string[], env: NodeJS.ProcessEnv): Promise<KeysRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli/keys.ts', ...args], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, rows: stdout.trim() ? stdout.trim().split('\n').map((line) => JSON.parse(line)) : [] }));
  });
}
