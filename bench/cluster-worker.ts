/**
 * One worker of the benchmark's IdP with WORKERS (cluster-server.ts): exactly what `npm start` runs
 * in a worker (src/main.ts), and an answer to the primary's question about this process's CPU,
 * event loop and memory.
 */
import { performance } from 'node:perf_hooks';
import { WORKER_USAGE, type ServerUsage } from './common.ts';

process.on('message', (message: { type?: string }) => {
  if (message?.type !== WORKER_USAGE) return;
  const cpu = process.cpuUsage();
  const main = process.threadCpuUsage();
  const elu = performance.eventLoopUtilization();
  const usage: ServerUsage = { cpuMicros: cpu.user + cpu.system, mainThreadCpuMicros: main.user + main.system, eluActive: elu.active, eluIdle: elu.idle, rss: process.memoryUsage.rss() };
  process.send!({ type: WORKER_USAGE, usage });
});
await import('../src/main.ts');
