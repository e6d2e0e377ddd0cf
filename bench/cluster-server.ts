/**
 * The JMB IdP with WORKERS for the benchmark, in its own process: this process is the primary that
 * `npm start` runs with WORKERS above 1 (src/main.ts, src/cluster/primary.ts), its workers each an
 * IdP process as `npm start` runs them (cluster-worker.ts). Started by bench/run.ts with WORKERS,
 * DATABASE_URL (a shared store) and the rest of the IdP's settings in its environment; PORT,
 * ISSUER and METRICS_PORT are chosen here. Announces itself once every worker listens, answers the
 * benchmark's usage questions with all of them added together, and stops the IdP when the
 * benchmark goes away.
 */
import cluster, { type Worker } from 'node:cluster';
import path from 'node:path';
import { freePort } from '../test/helpers/ports.ts';
import { WORKER_USAGE, type ChildMessage, type ServerUsage } from './common.ts';

if (!process.send) throw new Error('a benchmark server must be started by bench/run.ts (it needs the IPC channel)');
const send = (message: ChildMessage) => process.send!(message);
const workers = Number(process.env.WORKERS);
if (!(workers > 1)) throw new Error('cluster-server.ts runs the IdP with WORKERS above 1');

const port = await freePort();
const metricsPort = await freePort();
const issuer = `http://localhost:${port}`;
Object.assign(process.env, { PORT: String(port), ISSUER: issuer, METRICS_PORT: String(metricsPort) });
cluster.setupPrimary({ exec: path.join(import.meta.dirname, 'cluster-worker.ts') });

const listening = new Set<number>();
cluster.on('listening', (worker) => {
  listening.add(worker.id);
  if (listening.size === workers) send({ type: 'ready', issuer, port, metricsPort });
});

/** One worker's usage, asked over the cluster's IPC channel. */
const usageOf = (worker: Worker) => new Promise<ServerUsage>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`worker ${worker.id} did not report its usage`)), 5_000);
  const answer = (message: { type?: string; usage?: ServerUsage }) => {
    if (message?.type !== WORKER_USAGE) return;
    clearTimeout(timer);
    worker.off('message', answer);
    resolve(message.usage!);
  };
  worker.on('message', answer);
  worker.send({ type: WORKER_USAGE });
});

process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'usage') return;
  const alive = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
  void Promise.all(alive.map(usageOf)).then((each) => {
    const own = process.cpuUsage();
    const usage: ServerUsage = {
      // The primary hands new connections to the workers: its time counts as the server's.
      cpuMicros: each.reduce((sum, u) => sum + u.cpuMicros, own.user + own.system),
      mainThreadCpuMicros: each.reduce((sum, u) => sum + u.mainThreadCpuMicros, 0),
      eluActive: each.reduce((sum, u) => sum + u.eluActive, 0),
      eluIdle: each.reduce((sum, u) => sum + u.eluIdle, 0),
      rss: each.reduce((sum, u) => sum + u.rss, process.memoryUsage.rss()),
    };
    send({ type: 'usage', usage });
  }, (error: Error) => process.stderr.write(`bench: ${error.message}\n`));
});

// The primary stops its workers on SIGTERM, as under systemd or Kubernetes.
process.on('disconnect', () => {
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(0), 20_000).unref();
});

// The primary's own start: as `npm start` with WORKERS.
await import('../src/main.ts');
