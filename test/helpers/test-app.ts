import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from '../../src/app.ts';
import { ConfigError, loadConfig, type ClientMetadata, type Config } from '../../src/config/load.ts';
import { loadServerTimeouts } from '../../src/config/protection.ts';
import { createHttpServer } from '../../src/http/http-server.ts';
import type { SmsSender } from '../../src/auth/sms-otp/sms-sender.ts';
import type { Logger } from '../../src/log.ts';
import type { Store } from '../../src/store/port.ts';
import { createMember } from './members.ts';

export const WEBSITE = {
  client_id: 'website',
  client_secret: 'website-secret-for-tests-only-0123456789',
  redirect_uris: ['https://rp.example.com/cb'],
  post_logout_redirect_uris: ['https://rp.example.com/bye'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
} satisfies ClientMetadata;

export const NATIVE_APP = {
  client_id: 'app',
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  redirect_uris: ['jp.jmb.app:/oauth2redirect'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
} satisfies ClientMetadata;

export type TestApp = App & {
  url: string;
  /** The metrics listener, on a port of its own (with `metrics: true`). */
  metricsUrl: string | undefined;
  config: Config;
  dir: string;
  stop(): Promise<void>;
};

/**
 * The real app on an ephemeral port with a fresh SQLite file in a temp folder.
 * `env` overrides settings; `clients` replaces the client list; `openStore` opens the store on the
 * temp file itself (the test then holds it, and it is closed with the app).
 */
export async function startTestApp(options: {
  env?: Record<string, string>;
  clients?: ClientMetadata[];
  clock?: () => number;
  sms?: SmsSender;
  logger?: Logger;
  openStore?: (databaseFile: string) => Store;
  metrics?: boolean;
  signingKeyCheckMs?: number;
} = {}): Promise<TestApp> {
  // The server the IdP runs on, with its timeouts, before the issuer (which names its port) is known.
  const problems: string[] = [];
  const server: Server = createHttpServer(loadServerTimeouts(options.env ?? {}, problems));
  if (problems.length) throw new ConfigError(problems);
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-idp-test-'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const clientsFile = path.join(dir, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify(options.clients ?? [WEBSITE, NATIVE_APP]));
  let config: Config;
  let app: App;
  try {
    config = loadConfig({
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${path.join(dir, 'idp.db')}`,
      ISSUER: `http://localhost:${port}`,
      OIDC_CLIENTS_FILE: clientsFile,
      LOG_LEVEL: 'silent',
      // Test files run side by side on a small machine: only the tests of shedding itself should see it.
      PASSWORD_HASH_MAX_WAIT_MS: '60000',
      SHED_EVENT_LOOP_DELAY_MS: '60000',
      // The passkey offer after a password log-in has tests of its own; elsewhere a log-in ends at the relying party.
      PASSKEY_OFFER: 'off',
      ...options.env,
    });
    const store = options.openStore?.(path.join(dir, 'idp.db'));
    app = await createApp(config, { clock: options.clock, smsSender: options.sms, logger: options.logger, store, signingKeyCheckMs: options.signingKeyCheckMs });
  } catch (error) {
    // A refused configuration must not leave the port open.
    server.close();
    throw error;
  }
  server.on('request', app.handler);
  let metricsServer: Server | undefined;
  if (options.metrics) {
    metricsServer = createServer(app.metricsHandler);
    await new Promise<void>((resolve) => metricsServer!.listen(0, '127.0.0.1', resolve));
  }
  return {
    ...app,
    url: config.issuer,
    metricsUrl: metricsServer && `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`,
    config,
    dir,
    async stop() {
      server.closeAllConnections();
      metricsServer?.closeAllConnections();
      metricsServer?.close();
      await new Promise((resolve) => server.close(resolve));
      await app.close();
      if (options.openStore) await app.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { createMember };
