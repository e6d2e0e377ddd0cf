import { createApp } from './app.ts';
import { loadConfigOrExit } from './config/load.ts';
import { createHttpServer } from './http/http-server.ts';
import { createLogger } from './log.ts';
import { portProblem } from './port-problem.ts';
import { printStartBanner } from './start-banner.ts';
import { storeOpenProblem } from './store/open-problem.ts';
import { exitOnUncaughtErrors } from './uncaught.ts';

/** Starts the IdP: configuration first (exiting non-zero before listening if it is wrong), then the app. */
async function main(): Promise<void> {
  // Before anything else, so nothing that escapes is ever printed as it is (no LOG_LEVEL yet: errors only, on stderr).
  exitOnUncaughtErrors(createLogger('error', (line) => process.stderr.write(line)));
  const config = loadConfigOrExit(process.env);
  const app = await createApp(config).catch((error: unknown) => {
    const problem = storeOpenProblem(error);
    if (problem === undefined) throw error;
    process.stderr.write(`jmb-idp: ${problem}\n`);
    process.exit(1);
  });
  const server = createHttpServer(config.protection.server, app.handler);
  server.once('error', (error: Error) => {
    // A busy port is a newcomer's first problem: say which port and which setting, not a stack.
    process.stderr.write(`jmb-idp: ${portProblem('the IdP', config.port, 'PORT', error)}\n`);
    void app.close().finally(() => process.exit(1));
  });
  server.listen(config.port, () => {
    app.logger.info('listening', { issuer: config.issuer, port: config.port, store: app.store.kind, production: config.production });
    void printStartBanner(process.stdout, config.issuer, app.store.members);
  });
  // Metrics have a listener of their own, which the public load balancer never routes to.
  const { metricsPort } = config.operations;
  const metricsServer = metricsPort === undefined ? undefined : createHttpServer(config.protection.server, app.metricsHandler).listen(metricsPort, () => {
    app.logger.info('metrics listening', { port: metricsPort, token: config.operations.metricsToken !== undefined });
  });

  const stop = (signal: string) => {
    app.logger.info('shutting down', { signal });
    metricsServer?.close();
    server.close(() => void app.close().then(() => process.exit(0)));
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

await main();
