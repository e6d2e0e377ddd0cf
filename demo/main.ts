import type { Server } from 'node:http';
import { createApp } from '../src/app.ts';
import { demoClients } from '../src/config/demo-clients.ts';
import { portProblem } from '../src/port-problem.ts';
import { ADD_FIRST_MEMBER } from '../src/start-banner.ts';
import { storeOpenProblem } from '../src/store/open-problem.ts';
import { loadConfigOrExit } from '../src/config/load.ts';
import { createHttpServer } from '../src/http/http-server.ts';
import { createDemoSite } from './site.ts';

const WEBSITE_CLIENT_ID = 'jmb-website';

/** `npm run demo`: the IdP exactly as `npm start` runs it, plus the demo JMB website beside it. */
async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);

  const website = config.clients.find((c) => c.client_id === WEBSITE_CLIENT_ID) ?? demoClients(`http://localhost:${config.demoPort}`).find((c) => c.client_id === WEBSITE_CLIENT_ID)!;
  if (!config.clients.includes(website)) {
    process.stderr.write(`demo: the IdP's client list has no "${WEBSITE_CLIENT_ID}" client, so the demo website cannot log members in\n`);
  }

  // Another IdP holding the database file (`npm start` in another terminal) is said in one line.
  const app = await createApp(config).catch((error: unknown) => {
    const problem = storeOpenProblem(error);
    if (problem === undefined) throw error;
    return fail(problem);
  });
  const server: Server = createHttpServer(config.protection.server, app.handler).listen(config.port);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  }).catch((error: Error) => fail(portProblem('the IdP', config.port, 'PORT', error)));
  app.logger.info('listening', { issuer: config.issuer, port: config.port, store: app.store.kind, production: config.production });

  const site = await createDemoSite({
    issuer: config.issuer,
    clientId: website.client_id,
    clientSecret: String(website.client_secret ?? ''),
    port: config.demoPort,
    logger: app.logger,
  }).catch((error: Error) => fail(portProblem('the demo website', config.demoPort, 'DEMO_PORT', error)));

  process.stdout.write(`\nJMB IdP:            ${config.issuer}\nJMB website (demo): ${site.url}\n\n`);
  const [anyMember] = await app.store.members.list({ limit: 1 });
  if (!anyMember) {
    process.stdout.write([
      'No member exists yet. Add one (with the same DATA_DIR / DATABASE_URL as this demo), choosing your own password:',
      `  ${ADD_FIRST_MEMBER}`,
      '',
      '',
    ].join('\n'));
  }

  const stop = () => {
    void site.close();
    server.close(() => void app.close().then(() => process.exit(0)));
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(1);
}

await main();
