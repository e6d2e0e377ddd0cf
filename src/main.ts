import cluster from 'node:cluster';
import { createApp } from './app.ts';
import { runPrimary } from './cluster/primary.ts';
import { loadConfigOrExit } from './config/load.ts';
import { createHttpServer } from './http/http-server.ts';
import { createLogger, type OwnLogger } from './log.ts';
import { answerMetricsRequests } from './metrics/cluster-metrics.ts';
import { portProblem } from './port-problem.ts';
import { printStartBanner } from './start-banner.ts';
import { storeOpenProblem } from './store/open-problem.ts';
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
  const worker = cluster.worker;
  // A worker's lines carry its number, so that one worker's lines can be told from another's (the
  // primary logs each worker's number with its process id when it starts it).
  log = createLogger(config.logLevel, undefined, worker ? { worker: worker.id } : undefined);
  if (config.operations.workers > 1 && cluster.isPrimary) return runPrimary(config, log);
  const app = await createApp(config, { logger: log }).catch((error: unknown) => {
    const problem = storeOpenProblem(error);
    if (problem === undefined) throw error;
    process.stderr.write(`jmb-idp: ${problem}\n`);
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
    if (!worker) void printStartBanner(process.stdout, config.issuer, app.store.members);
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
