/**
 * The real JMB IdP for the benchmark, in its own process: the same loadConfig and createApp as
 * `npm start`, on the embedded SQLite store the parent prepared (members and passkeys already in it),
 * on an ephemeral loopback port. Started by bench/run.ts with DATA_DIR, DATABASE_URL,
 * OIDC_CLIENTS_FILE and LOG_LEVEL in its environment; ISSUER follows from the port.
 */
import { createServer } from 'node:http';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { listenOnLoopback, serveParent } from './common.ts';

const server = createServer();
const port = await listenOnLoopback(server);
const issuer = `http://localhost:${port}`;
const config = loadConfig({ ...process.env, PORT: String(port), ISSUER: issuer });
const app = await createApp(config);
server.on('request', app.handler);
serveParent(server, issuer, port, () => app.close());
