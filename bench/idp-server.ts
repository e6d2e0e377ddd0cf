/**
 * The real JMB IdP for the benchmark, in its own process: the same loadConfig and createApp as
 * `npm start`, on the store the parent prepared (a SQLite file or a PostgreSQL database, members and
 * passkeys already in it), on an ephemeral loopback port. Started by bench/run.ts with DATA_DIR, DATABASE_URL,
 * OIDC_CLIENTS_FILE and LOG_LEVEL in its environment; ISSUER follows from the port. Its metrics are
 * served on a loopback port of their own (the store's statement count is read there). For the prune
 * benchmark it also prunes when asked and reports the event loop's longest stall.
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp } from '../src/app.ts';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { loadServerTimeouts } from '../src/config/protection.ts';
import { createHttpServer } from '../src/http/http-server.ts';
import { listenOnLoopback, serveParent } from './common.ts';

const problems: string[] = [];
const server = createHttpServer(loadServerTimeouts(process.env, problems));
if (problems.length) throw new ConfigError(problems);
const port = await listenOnLoopback(server);
const issuer = `http://localhost:${port}`;
const config = loadConfig({ ...process.env, PORT: String(port), ISSUER: issuer });
const app = await createApp(config);
server.on('request', app.handler);
const metricsServer = createServer(app.metricsHandler);
const metricsPort = await listenOnLoopback(metricsServer);
serveParent(server, issuer, port, async () => {
  metricsServer.close();
  await app.close();
}, { metricsPort });

// For `npm run bench:prune` and `bench:backup`: a round of pruning on request, and the event loop's
// stalls meanwhile. The watch starts with the first `loop-reset`, so that the throughput benchmark's
// IdP carries no timers the stock server does not.
const loop = monitorEventLoopDelay({ resolution: 1 });
// When the stalls came: a timer due every 5 ms that fired more than 20 ms late (wall-clock ms, length).
const STALL_MS = 20;
let stalls: [number, number][] = [];
let lastTick = performance.now();
let watching = false;
const watch = () => {
  if (watching) return;
  watching = true;
  loop.enable();
  lastTick = performance.now();
  setInterval(() => {
    const now = performance.now();
    const late = now - lastTick - 5;
    if (late > STALL_MS && stalls.length < 1000) stalls.push([Math.round(performance.timeOrigin + now), late]);
    lastTick = now;
  }, 5).unref();
};
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'prune') {
    void app.prune().then((report) => process.send!({ type: 'pruned', report }));
  } else if (message?.type === 'loop-reset') {
    watch();
    loop.reset();
    stalls = [];
  } else if (message?.type === 'loop-read') {
    process.send!({ type: 'loop', maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6, stalls });
  }
});
