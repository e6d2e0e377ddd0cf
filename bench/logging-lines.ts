/**
 * The logger alone, for `npm run bench:logging`: LINES request lines as the IdP writes them, each in
 * its own turn of the event loop (as requests end), through the createLogger of the build at
 * BENCH_BUILD at LOG_LEVEL, stdout a pipe the parent drains. Prints the CPU per line as JSON on stderr.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const build = path.resolve(process.env.BENCH_BUILD ?? path.join(import.meta.dirname, '..'));
const { createLogger } = await import(pathToFileURL(path.join(build, 'src/log.ts')).href) as typeof import('../src/log.ts');
const level = process.env.LOG_LEVEL as 'info' | 'silent';
const lines = Number(process.env.LINES);
const logger = createLogger(level);
const turn = () => new Promise((resolve) => setImmediate(resolve));

// A build from before the request line had a path of its own wrote it with `info`.
const request = (line: { method: string; path: string; status: number; ms: number; ip: string }) => {
  if ('request' in logger) logger.request(line);
  else (logger as { info(message: string, fields: object): void }).info('request', line);
};
const run = async (count: number) => {
  for (let i = 0; i < count; i++) {
    request({ method: 'POST', path: `/interaction/${i.toString(36).padStart(21, 'x')}/passkey`, status: 200, ms: 2.4, ip: '127.0.0.1' });
    await turn();
  }
};
await run(Math.min(lines, 5_000));
const thread = process.threadCpuUsage();
const all = process.cpuUsage();
await run(lines);
const micros = (now: NodeJS.CpuUsage, then: NodeJS.CpuUsage) => (now.user + now.system - then.user - then.system) / lines;
process.stderr.write(`${JSON.stringify({ mainMicros: micros(process.threadCpuUsage(), thread), allMicros: micros(process.cpuUsage(), all) })}\n`);
