/**
 * Servers loaded at the same time: closed-loop passkey log-ins on each, with the same number of
 * virtual users, over several short slices. Every server meets the same machine at every moment, so
 * a drift of the machine's speed (other work on a shared host) weighs on all of them alike, which
 * trials run one after another cannot promise: on a shared two-core machine the speed moves by a
 * quarter within a minute, more than the few percent this is meant to resolve.
 *
 * For each server, its log-ins per second in each slice and the CPU it used for them: all its
 * threads, and the process that reads its log (the same cost in production, paid by journald or
 * the container runtime). Used by `npm run bench` for the cost of logging: the IdP at its defaults
 * beside the same IdP silent.
 */
import { closedLoop, round, type PasskeyPool, type TrialResult } from './driver.ts';
import type { ServerChild } from './server-child.ts';

export type SideBySideOptions = { slices: number; warmupMs: number; durationMs: number; concurrency: number; maxLogIns: number };

/** The two fresh IdP processes of the logging phase, one at its defaults and one silent, side by side. */
export type LoggingPair = { info: SideBySideServer; silent: SideBySideServer };

/** One server's figures over the slices. */
export type SideBySideServer = {
  name: string;
  /** Log-ins per second in each slice. */
  slices: number[];
  completed: number;
  failed: number;
  /** CPU per completed log-in over all slices: the server's threads, and with the log's reader added. */
  serverCpuMsPerLogIn: number;
  withReaderCpuMsPerLogIn: number;
  serverMainThreadMsPerLogIn: number;
};

type Sample = { cpu: number; main: number; reader: number };

async function sample(server: ServerChild): Promise<Sample> {
  const usage = await server.usage();
  return { cpu: usage.cpuMicros, main: usage.mainThreadCpuMicros, reader: server.logReaderCpuMicros() ?? 0 };
}

/**
 * Runs `options.slices` slices; in each, every server gets `concurrency` virtual users at once
 * (started in an order that turns each slice) and is sampled at the end of the warm-up and of the
 * measured window.
 */
export async function sideBySide(servers: ServerChild[], pool: PasskeyPool, options: SideBySideOptions, log: (line: string) => void): Promise<SideBySideServer[]> {
  const figures = servers.map((server) => ({ name: server.flow, slices: [] as number[], completed: 0, failed: 0, cpu: 0, main: 0, reader: 0 }));
  const at = (server: ServerChild, ms: number) => new Promise<Sample>((resolve, reject) => {
    setTimeout(() => sample(server).then(resolve, reject), ms);
  });
  for (let slice = 0; slice < options.slices; slice++) {
    const turn = servers.map((_, i) => (i + slice) % servers.length);
    const runs = await Promise.all(turn.map(async (i): Promise<[number, TrialResult, Sample, Sample]> => {
      const server = servers[i]!;
      const [result, before, after] = await Promise.all([
        closedLoop(server.target, pool, { warmupMs: options.warmupMs, durationMs: options.durationMs, maxLogIns: options.maxLogIns, concurrency: options.concurrency }),
        at(server, options.warmupMs),
        at(server, options.warmupMs + options.durationMs),
      ]);
      return [i, result, before, after];
    }));
    for (const [i, result, before, after] of runs) {
      servers[i]!.assertRunning();
      const f = figures[i]!;
      f.slices.push(result.throughput);
      f.completed += result.completed;
      f.failed += result.failed;
      f.cpu += after.cpu - before.cpu;
      f.main += after.main - before.main;
      f.reader += after.reader - before.reader;
    }
    log(`bench: side by side, slice ${slice + 1}: ${figures.map((f) => `${f.name} ${f.slices.at(-1)}`).join(', ')} log-ins/s`);
  }
  const per = (micros: number, completed: number) => (completed ? round(micros / 1000 / completed, 3) : 0);
  return figures.map((f) => ({
    name: f.name,
    slices: f.slices,
    completed: f.completed,
    failed: f.failed,
    serverCpuMsPerLogIn: per(f.cpu, f.completed),
    withReaderCpuMsPerLogIn: per(f.cpu + f.reader, f.completed),
    serverMainThreadMsPerLogIn: per(f.main, f.completed),
  }));
}
