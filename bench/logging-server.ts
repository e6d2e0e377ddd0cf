/**
 * The IdP for `npm run bench:logging`, in its own process: the same loadConfig and createApp as
 * `npm start`, taken from the build at BENCH_BUILD (this checkout by default, or a baseline checkout
 * to measure its logger), on the SQLite file the parent prepared, at the LOG_LEVEL the parent names,
 * its stdout a pipe the parent drains.
 */
import { createServer } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { listenOnLoopback, serveParent } from './common.ts';

const build = path.resolve(process.env.BENCH_BUILD ?? path.join(import.meta.dirname, '..'));
const from = <T>(file: string) => import(pathToFileURL(path.join(build, file)).href) as Promise<T>;
const { createApp } = await from<typeof import('../src/app.ts')>('src/app.ts');
const { loadConfig } = await from<typeof import('../src/config/load.ts')>('src/config/load.ts');

const server = createServer();
const port = await listenOnLoopback(server);
const issuer = `http://localhost:${port}`;
const app = await createApp(loadConfig({ ...process.env, PORT: String(port), ISSUER: issuer }));
server.on('request', app.handler);
serveParent(server, issuer, port, () => app.close());
