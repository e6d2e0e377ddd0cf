import cluster from 'node:cluster';
import { createApp } from './app.ts';
import { runPrimary } from './cluster/primary.ts';
import { workerLogger } from './cluster/worker-logger.ts';
import { loadConfigOrExit } from './config/load.ts';
import { createHttpServer } from './http/http-server.ts';
import { createLogger, type OwnLogger } from './log.ts';
import { answerMetricsRequests } from './metrics/cluster-metrics.ts';
import { portProblem } from './port-problem.ts';
import { StoreOpenError } from './store/port.ts';
import { exitOnUncaughtErrors } from './uncaught.ts';

/**
 * Starts the IdP: configuration first (exiting non-zero before listening if it is wrong), then the
 * app. With WORKERS above 1 this process becomes the primary of that many IdP processes, each of
 * which runs the rest of this function (cluster/primary.ts).
 */
async function main(): Promise<void> {
  // Before anything else, so nothing that escapes is ever printed as it is (no LOG_LEVEL yet: errors only, on stderr).
  const lastResort = createLogger('error', (line) => process.stderr.write(line));
  let log: OwnLogger = lastResort;
  // The log is written asynchronously: every way out writes what it still holds first, since the
  // last lines before a stop or a crash are the ones an operator reads.
  const exit = (code: number): never => {
    log.flushSync();
    return process.exit(code);
  };
  exitOnUncaughtErrors(lastResort, exit);
  const config = loadConfigOrExit(process.env);
  log = createLogger(config.logLevel);
  if (config.operations.workers > 1 && cluster.isPrimary) return runPrimary(config, log);
  const worker = cluster.worker;
  const app = await createApp(config, { logger: worker ? workerLogger(log, worker.id) : log }).catch((error: unknown) => {
    // The store says why it cannot be opened (another IdP holds the file, no server answers, a schema behind).
    if (!(error instanceof StoreOpenError)) throw error;
    process.stderr.write(`jmb-idp: ${error.message}\n`);
    return exit(1);
  });
  const server = createHttpServer(config.protection.server, app.handler);
  server.once('error', (error: Error) => {
    // A busy port is a newcomer's first problem: say which port and which setting, not a stack.
    process.stderr.write(`jmb-idp: ${portProblem('the IdP', config.port, 'PORT', error)}\n`);
    void app.close().finally(() => exit(1));
  });
  server.listen(config.port, () => {
    app.logger.info('listening', { issuer: config.issuer, port: config.port, store: app.store.kind, production: config.production });
  });
  // Metrics have a listener of their own, which the public load balancer never routes to; with
  // several workers the primary serves it, asking each worker for its metrics.
  if (worker) answerMetricsRequests(app.metricsRegistry);
  const metricsPort = worker ? undefined : config.operations.metricsPort;
  const metricsServer = metricsPort === undefined ? undefined : createHttpServer(config.protection.server, app.metricsHandler).listen(metricsPort, () => {
    app.logger.info('metrics listening', { port: metricsPort, token: config.operations.metricsToken !== undefined });
  });

  let stopping = false;
  const stop = (signal: string) => {
    // A worker may be told twice (Ctrl-C reaches the whole process group, and the primary passes it on).
    if (stopping) return;
    stopping = true;
    app.logger.info('shutting down', { signal });
    metricsServer?.close();
    server.close(() => void app.close().then(() => exit(0)));
    setTimeout(() => exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
