import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/load.ts';
import { createHttpServer } from '../http/http-server.ts';
import type { Logger } from '../log.ts';
import { clusterMetrics } from '../metrics/cluster-metrics.ts';
import { metricsEndpoint } from '../metrics/endpoint.ts';
import { portProblem } from '../port-problem.ts';
import { createRestartDelay } from './restart-delay.ts';

/** How long the workers have to finish what they are answering after a SIGTERM or SIGINT. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * The primary process of WORKERS IdP processes on one machine (node:cluster). It serves no request
 * itself: the workers listen on PORT together (the primary hands each new connection to the next
 * worker in turn), each with its own pool of connections to the shared store. The primary only
 *
 * - starts the workers, and starts another when one dies, after a wait that grows while they keep
 *   dying (restart-delay.ts), with one log line each time;
 * - stops the IdP when a worker cannot start at all (its configuration, its database or its port:
 *   another try would fail the same way), with the worker's own exit code;
 * - passes SIGTERM and SIGINT on, so that every worker finishes what it is answering, and exits once
 *   they all have;
 * - serves METRICS_PORT, if set, with every worker's metrics added together (cluster-metrics.ts).
 */
export function runPrimary(config: Config, logger: Logger): void {
  const { workers: count, metricsPort, metricsToken } = config.operations;
  const delay = createRestartDelay();
  const startedAt = new Map<number, number>();
  const listening = new Set<number>();
  let serving = false;
  let stopping = false;

  const alive = () => Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
  const fork = () => {
    if (stopping) return;
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
    logger.info('worker started', { worker: worker.id, pid: worker.process.pid });
  };
  const stop = (signal: NodeJS.Signals, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    process.exitCode = exitCode;
    metricsServer?.close();
    const running = alive();
    for (const worker of running) worker.process.kill(signal);
    if (running.length === 0) process.exit(exitCode);
    setTimeout(() => {
      for (const worker of alive()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
  };

  cluster.on('listening', (worker) => {
    listening.add(worker.id);
    if (serving || listening.size < count) return;
    serving = true;
    logger.info('listening', { issuer: config.issuer, port: config.port, workers: count, production: config.production });
  });
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? Date.now());
    startedAt.delete(worker.id);
    listening.delete(worker.id);
    if (stopping) {
      if (alive().length === 0) process.exit();
      return;
    }
    if (!serving) {
      // The worker said why on standard error, in one line, as the IdP alone does.
      logger.error('a worker stopped before the IdP was listening: the IdP stops', { worker: worker.id, code, signal });
      stop('SIGTERM', code || 1);
      return;
    }
    const wait = delay.after(lived);
    logger.warn('worker stopped: starting another', { worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: wait });
    setTimeout(fork, wait);
  });
  process.on('SIGTERM', () => {
    logger.info('shutting down', { signal: 'SIGTERM', workers: alive().length });
    stop('SIGTERM', 0);
  });
  process.on('SIGINT', () => {
    logger.info('shutting down', { signal: 'SIGINT', workers: alive().length });
    stop('SIGINT', 0);
  });

  const metricsServer = metricsPort === undefined ? undefined : createHttpServer(config.protection.server, metricsEndpoint(clusterMetrics(), metricsToken, logger));
  metricsServer?.once('error', (error: Error) => {
    process.stderr.write(`jmb-idp: ${portProblem('the metrics listener', metricsPort!, 'METRICS_PORT', error)}\n`);
    stop('SIGTERM', 1);
  });
  metricsServer?.listen(metricsPort, () => {
    logger.info('metrics listening', { port: metricsPort, token: metricsToken !== undefined, workers: count });
  });
  for (let i = 0; i < count; i++) fork();
}
