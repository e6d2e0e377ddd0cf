import test from 'ava';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, open, openSync, rmSync } from 'node:fs';
import dns from 'node:dns';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Occupies every thread of libuv's pool, as a burst of password hashes does in a busy test process,
 * without using the CPU: each thread waits in open() on a FIFO until `release` opens it for writing.
 */
function holdThreadPool(): { release(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-pool-'));
  const fifo = path.join(dir, 'held');
  execFileSync('mkfifo', [fifo]);
  const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const readers: number[] = [];
  for (let i = 0; i < size; i++) open(fifo, 'r', (error, fd) => (error ? undefined : readers.push(fd)));
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      closeSync(openSync(fifo, 'w'));
      setTimeout(() => {
        for (const fd of readers) closeSync(fd);
        rmSync(dir, { recursive: true, force: true });
      }, 100);
    },
  };
}

test('localhost is found and reached while every thread of the pool is busy', async (t) => {
  const server = createServer((_req, res) => res.end('reached'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;

  const pool = holdThreadPool();
  // Frees the pool in the end whatever happens, so that a lookup stuck behind it fails the test
  // below instead of hanging it.
  let freedBeforeAnswer = false;
  const safeguard = setTimeout(() => {
    freedBeforeAnswer = true;
    pool.release();
  }, 10_000);
  t.teardown(() => {
    clearTimeout(safeguard);
    pool.release();
  });

  const addresses = await new Promise<dns.LookupAddress[]>((resolve, reject) => dns.lookup('localhost', { all: true }, (error, found) => (error ? reject(error) : resolve(found))));
  t.false(freedBeforeAnswer, 'the answer did not wait for the pool');
  t.deepEqual(addresses, [{ address: '127.0.0.1', family: 4 }]);
  t.is(await (await fetch(`http://localhost:${port}/`)).text(), 'reached');
  t.false(freedBeforeAnswer, 'nor did the request');
});

test('other names still go to the resolver, and a family of 6 is answered with ::1', async (t) => {
  const v6 = await new Promise<string>((resolve, reject) => dns.lookup('LOCALHOST', 6, (error, address) => (error ? reject(error) : resolve(address))));
  t.is(v6, '::1');
  const v4 = await new Promise<string>((resolve, reject) => dns.lookup('127.0.0.1', (error, address) => (error ? reject(error) : resolve(address))));
  t.is(v4, '127.0.0.1');
});
