/**
 * What `bench:prune` and `bench:backup` share: a big embedded database built once as a template,
 * rounds that each start the IdP on a fresh copy of it and warm it up, trials of passkey log-ins at
 * a fixed rate while some upkeep runs (or for a set time without), and the results file.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fillDocuments } from './big-database.ts';
import { BENCH_CLIENT, LOOPBACK_BUDGETS, type ChildMessage } from './common.ts';
import { closedLoop, openLoop, PasskeyPool, round, type TrialResult } from './driver.ts';
import { createMembers, ServerChild } from './server-child.ts';

/** A line on stderr, where progress goes (stdout holds the report). */
export const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The machine a result was measured on. */
export function machine() {
  return { cpu: os.cpus()[0]?.model.trim(), cores: os.availableParallelism(), node: process.version, loadAverage: os.loadavg().map((l) => round(l)) };
}

/** The template database and what rounds on copies of it need. */
export type BigDatabase = {
  dir: string;
  templateBytes: number;
  /** Documents already expired in the template. */
  expired: number;
  pool: PasskeyPool;
  /**
   * Round `r`: the IdP started on a fresh copy of the template and warmed up for 3 s; `body` runs
   * its trials; then the IdP is stopped and the copy removed. Returns `body`'s value and the size the
   * copy had when the IdP stopped.
   */
  round<T>(r: number, body: (server: ServerChild, file: string) => Promise<T>): Promise<{ value: T; bytesAfter: number }>;
};

/**
 * Builds the template (`members` members with passkeys, `documents` documents of which `expired`
 * have expired) in a temporary folder, runs `body` with it, and removes everything whatever happens.
 */
export async function withBigDatabase<T>(bench: string, sizes: { members: number; documents: number; expired: number }, body: (database: BigDatabase) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `jmb-idp-bench-${bench}-`));
  const servers = new Set<ServerChild>();
  try {
    const template = path.join(dir, 'template.db');
    const started = Date.now();
    const passkeys = await createMembers(`sqlite:${template}`, sizes.members);
    const expired = fillDocuments(template, sizes.documents, sizes.expired);
    log(`bench:${bench}: ${sizes.documents.toLocaleString('en')} documents, ${expired.toLocaleString('en')} of them expired`);
    const templateBytes = statSync(template).size;
    log(`bench:${bench}: template of ${(templateBytes / 2 ** 20).toFixed(0)} MiB built in ${Math.round((Date.now() - started) / 1000)} s`);
    const clientsFile = path.join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([BENCH_CLIENT]));
    const pool = new PasskeyPool(passkeys);

    return await body({
      dir,
      templateBytes,
      expired,
      pool,
      async round(r, trials) {
        const file = path.join(dir, `round-${r}.db`);
        copyFileSync(template, file);
        const server = await ServerChild.start('idp', 'idp-server.ts', {
          DATA_DIR: dir,
          DATABASE_URL: `sqlite:${file}`,
          OIDC_CLIENTS_FILE: clientsFile,
          LOG_LEVEL: 'silent',
          // The trials start upkeep themselves.
          PRUNE_INTERVAL_SECONDS: '86400',
          ...LOOPBACK_BUDGETS,
        });
        servers.add(server);
        await closedLoop(server.target, pool, { warmupMs: 0, durationMs: 3000, maxLogIns: 50_000, concurrency: 8 });
        const value = await trials(server, file);
        await server.stop();
        servers.delete(server);
        const bytesAfter = statSync(file).size;
        rmSync(file, { force: true });
        return { value, bytesAfter };
      },
    });
  } finally {
    await Promise.all([...servers].map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One trial: the log-ins, the server's event loop over it, and what the upkeep run during it gave. */
export type LoadTrial<T> = {
  result: TrialResult;
  loop: Extract<ChildMessage, { type: 'loop' }>;
  /** Date.now() when the trial began, for placing the stalls. */
  startedAt: number;
  /** The upkeep's value and how long it took, when there was one. */
  during?: { value: T; ms: number };
};

/**
 * Passkey log-ins at `rate` per second on `server`: while `during` runs (ending when it settles,
 * `durationMs` at most), or for `durationMs` without it.
 */
export async function logInsAtRate<T = never>(server: ServerChild, pool: PasskeyPool, options: { rate: number; durationMs: number; maxLogIns: number; during?: () => Promise<T> }): Promise<LoadTrial<T>> {
  server.tell({ type: 'loop-reset' });
  const done = new AbortController();
  const startedAt = Date.now();
  const began = performance.now();
  const upkeep = options.during?.().then((value) => ({ value, ms: performance.now() - began })).finally(() => done.abort());
  // Its failure is thrown below, once the log-ins have stopped.
  upkeep?.catch(() => undefined);
  const result = await openLoop(server.target, pool, { warmupMs: 0, durationMs: options.durationMs, maxLogIns: options.maxLogIns, rate: options.rate, signal: done.signal });
  const during = await upkeep;
  const loop = await server.ask<Extract<ChildMessage, { type: 'loop' }>>({ type: 'loop-read' }, 'loop');
  return { result, loop, startedAt, ...(during && { during }) };
}

/** Writes `summary` to bench/results/<bench>-latest.json. */
export function writeResults(bench: string, summary: unknown): void {
  const dir = path.join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${bench}-latest.json`), `${JSON.stringify(summary, null, 2)}\n`);
}
