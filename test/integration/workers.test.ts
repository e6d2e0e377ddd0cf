import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnIdp, startIdpProcess, type IdpProcess, type LogLine } from '../helpers/idp-process.ts';
import { scrape } from '../helpers/metrics.ts';
import { freePort } from '../helpers/ports.ts';
import { sharedCluster, withPostgres } from '../helpers/postgres.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** A request on a connection of its own: the cluster hands each new connection to the next worker. */
function getOnce(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false, headers: { connection: 'close' } }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode!));
    }).once('error', reject).end();
  });
}

const tempDir = (t: import('ava').ExecutionContext) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-workers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

test('WORKERS=2 on the embedded SQLite store is refused before anything listens, in one line naming the reason', (t) => {
  const result = spawnSync(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, DATA_DIR: tempDir(t), PORT: '0', WORKERS: '2' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.is(result.status, 1);
  t.true(result.stderr.split('\n').some((line) => line.endsWith('WORKERS needs a shared store (DATABASE_URL=postgres://…): the embedded SQLite store is one process per file')), result.stderr);
  t.notRegex(result.stdout, /listening/);
});

test('with WORKERS, a worker that cannot start stops the IdP with its reason and exit code, instead of being restarted for ever', async (t) => {
  const nobody = await freePort();
  const idp = spawnIdp({ DATABASE_URL: `postgres://idp@127.0.0.1:${nobody}/jmb_idp`, DATA_DIR: tempDir(t), PORT: String(await freePort()), WORKERS: '2' });
  t.teardown(() => idp.stop('SIGKILL'));
  t.deepEqual(await idp.exited, { code: 1, signal: null });
  t.regex(idp.stderr(), new RegExp(`jmb-idp: cannot connect to PostgreSQL at postgres://127\\.0\\.0\\.1:${nobody}/jmb_idp`));
  t.false(idp.lines().some((line) => line.msg === 'worker stopped: starting another'));
  t.true(idp.lines().some((line) => line.msg === 'a worker stopped before the IdP was listening: the IdP stops'));
});

withPostgres('WORKERS on PostgreSQL', () => {
  const cluster = sharedCluster();

  test.serial('WORKERS=2 serves one port from two processes, adds their metrics together, replaces one killed, and stops on SIGTERM', async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const metricsPort = await freePort();
    let idp: IdpProcess | undefined;
    t.teardown(async () => idp?.stop('SIGKILL'));
    idp = await startIdpProcess({
      DATABASE_URL: await cluster().createDatabase(), DATABASE_POOL_SIZE: '2', DATA_DIR: dir, PORT: String(port), ISSUER: `http://localhost:${port}`,
      METRICS_PORT: String(metricsPort), WORKERS: '2',
    });
    const started = () => idp!.lines().filter((line) => line.msg === 'worker started');
    const pidOf = (worker: unknown) => started().find((line) => line.worker === worker)?.pid;
    t.is(started().length, 2);
    t.false(idp.lines().some((line) => line.msg === 'request'), 'the primary serves nothing itself');

    // Request after request on new connections, until the request log shows two workers answering.
    const answered = (line: LogLine) => line.msg === 'request' && line.path === '/healthz';
    let requests = 0;
    while (new Set(idp.lines().filter(answered).map((line) => line.worker)).size < 2) {
      t.is(await getOnce(`${idp.url}/healthz`), 200);
      requests++;
      await idp.line((line) => answered(line) && idp!.lines().filter(answered).length >= requests, 'the request\'s log line');
    }
    const pids = new Set(idp.lines().filter(answered).map((line) => pidOf(line.worker)));
    t.is(pids.size, 2, 'two processes answered');
    t.false(pids.has(idp.pid), 'neither of them the primary');

    // One scrape of the primary's metrics port counts every worker's requests.
    const metrics = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
    t.is(metrics.value('jmb_http_requests_total', { group: 'health', status: '200' }), requests);
    t.is(metrics.value('jmb_store_up'), 1);

    // A worker killed outright is replaced, and the port keeps answering meanwhile.
    const [victim] = started();
    process.kill(Number(victim!.pid), 'SIGKILL');
    await idp.line((line) => line.msg === 'worker stopped: starting another' && line.worker === victim!.worker, 'the restart line');
    t.is(await getOnce(`${idp.url}/healthz`), 200);
    const replacement = await idp.line((line) => line.msg === 'worker started' && line.worker !== 1 && line.worker !== 2, 'the new worker');
    await idp.line((line) => line.msg === 'listening' && line.worker === replacement.worker, 'the new worker listening');
    t.not(replacement.pid, victim!.pid);

    const stopped = await idp.stop('SIGTERM');
    t.deepEqual(stopped, { code: 0, signal: null });
    t.is(idp.lines().filter((line) => line.msg === 'shutting down').length, 3, 'the primary and both workers stopped in order');
    for (const line of started()) t.throws(() => process.kill(Number(line.pid), 0), undefined, `worker ${String(line.worker)} is gone`);
  });
});
