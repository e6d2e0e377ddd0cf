/**
 * A benchmark's server in a child process of its own, and the members it logs in: shared by
 * `npm run bench` and the other benchmarks.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { hashPassword } from '../src/members/password.ts';
import { openStore } from '../src/store/open.ts';
import { enrolSoftPasskey, type SoftPasskey } from '../test/helpers/soft-authenticator.ts';
import { BENCH_RP_ID, clockTicks, procStat, type ChildMessage, type ServerUsage } from './common.ts';
import type { Target } from './driver.ts';

const here = import.meta.dirname;

/** A server child: ready once it has announced its issuer, answers usage questions over IPC. */
export class ServerChild {
  readonly flow: string;
  readonly target: Target;
  /** Where the server answers `GET /metrics` on loopback, if it does (builds before it did not). */
  readonly metricsPort: number | undefined;
  private readonly child: ChildProcess;
  private readonly drain: ChildProcess;
  private pending: ((usage: ServerUsage) => void) | undefined;
  private exited: string | undefined;

  private readonly waiting = new Map<string, (message: ChildMessage) => void>();

  private constructor(flow: string, child: ChildProcess, drain: ChildProcess, target: Target, metricsPort: number | undefined) {
    this.flow = flow;
    this.child = child;
    this.drain = drain;
    this.target = target;
    this.metricsPort = metricsPort;
    child.on('exit', (code, signal) => {
      this.exited = `exited with ${signal ?? code}`;
    });
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'usage' && this.pending) {
        const resolve = this.pending;
        this.pending = undefined;
        resolve(message.usage);
      }
      const waiter = this.waiting.get(message.type);
      this.waiting.delete(message.type);
      waiter?.(message);
    });
  }

  /**
   * Starts `script` (in bench/, or an absolute path) with `env`; `profile` gives Node options for a CPU
   * profile. The server's standard output (its log) is a pipe that another process empties, as in
   * production: under systemd it is journald's stream, under Docker or Kubernetes the container
   * runtime's pipe, each read by a process of its own. Node writes to a pipe synchronously on Linux,
   * so the server pays for every line it logs and waits when the reader falls behind. The reader
   * here is `cat` into /dev/null: a process apart from the load driver, which must not spend its own
   * CPU or event loop on the server's log.
   */
  static start(flow: string, script: string, env: Record<string, string>, profile?: (flow: string) => string[]): Promise<ServerChild> {
    const execArgv = profile?.(flow) ?? [];
    const drain = spawn('cat', [], { stdio: ['pipe', 'ignore', 'inherit'] });
    const child = fork(path.resolve(here, script), [], {
      execPath: process.execPath,
      execArgv,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', drain.stdin!, 'inherit', 'ipc'],
    });
    // The server holds the pipe's only writing end now: `cat` ends when the server does.
    drain.stdin!.destroy();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not start within 30 s`)), 30_000);
      child.once('exit', (code) => {
        drain.kill();
        reject(new Error(`${script} exited with ${code} before it was ready`));
      });
      child.once('message', (message: ChildMessage) => {
        clearTimeout(timer);
        if (message.type !== 'ready') return reject(new Error(`${script} sent ${message.type} before ready`));
        resolve(new ServerChild(flow, child, drain, { name: flow, issuer: message.issuer, port: message.port }, message.metricsPort));
      });
    });
  }

  /**
   * The store statements the server has run since it started (jmb_store_statements_total) and its
   * round trips to a database server (jmb_store_round_trips_total), each where it reports them.
   */
  async storeTraffic(): Promise<{ statements: number | undefined; roundTrips: number | undefined }> {
    if (this.metricsPort === undefined) return { statements: undefined, roundTrips: undefined };
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
    const value = (name: string) => {
      const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return match ? Number(match[1]) : undefined;
    };
    return { statements: value('jmb_store_statements_total'), roundTrips: value('jmb_store_round_trips_total') };
  }

  /**
   * The CPU time the process reading the server's log (`cat`) has used, user and system, from
   * /proc: what the log costs outside the server. Undefined where /proc is not there.
   */
  logReaderCpuMicros(): number | undefined {
    return processCpuMicros(this.drain.pid);
  }

  /** Throws when the server process has gone (a crash would otherwise show up as slow numbers). */
  assertRunning(): void {
    if (this.exited) throw new Error(`the ${this.flow} server ${this.exited} during the run`);
  }

  usage(): Promise<ServerUsage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.flow} server did not report its usage`)), 10_000);
      this.pending = (usage) => {
        clearTimeout(timer);
        resolve(usage);
      };
      this.child.send({ type: 'usage' });
    });
  }

  /** Sends `message` and resolves with the child's first message of type `reply`. */
  ask<T extends ChildMessage>(message: object, reply: T['type'], timeoutMs = 600_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.flow} server did not answer ${reply}`)), timeoutMs);
      this.waiting.set(reply, (answer) => {
        clearTimeout(timer);
        resolve(answer as T);
      });
      this.child.send(message);
    });
  }

  /** Sends `message`, expecting no answer. */
  tell(message: object): void {
    this.child.send(message);
  }

  /** Closing the IPC channel makes the child close its server and exit. */
  async stop(): Promise<void> {
    await stopChild(this.child);
    if (this.drain.exitCode === null) this.drain.kill();
  }
}

let microsPerTick: number | undefined;
/** User and system CPU time of process `pid` (from /proc), in microseconds; undefined when it has gone. */
function processCpuMicros(pid: number | undefined): number | undefined {
  const found = pid === undefined ? undefined : procStat(pid);
  if (!found) return undefined;
  microsPerTick ??= 1e6 / clockTicks();
  return (found.utime + found.stime) * microsPerTick;
}

/** Closes the IPC channel of a forked server, which makes it close and exit; killed if still there after 5 s. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || !child.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.disconnect();
  });
}

/**
 * Members with software passkeys in the store at `databaseUrl`, all with the password `password`;
 * the private keys stay with the caller.
 */
export async function createMembers(databaseUrl: string, count: number, password = randomBytes(24).toString('base64url')): Promise<SoftPasskey[]> {
  const store = await openStore(databaseUrl);
  // One real hash serves every member: checking it costs the same as checking one's own.
  const passwordHash = await hashPassword(password);
  const passkeys: SoftPasskey[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const now = new Date();
      const member = await store.members.create({
        id: randomUUID(),
        number: String(400_000_001 + i),
        name: `Bench Member ${i + 1}`,
        phone: '+819012345678',
        country: 'JP',
        status: 'active',
        passwordHash,
        createdAt: now,
        updatedAt: now,
      });
      // Half device-bound (counter moves forward, amr hwk), half synced (counter 0, amr swk).
      passkeys.push(await enrolSoftPasskey(store, member.id, BENCH_RP_ID, { synced: i % 2 === 1, name: 'Bench passkey' }));
    }
  } finally {
    await store.close();
  }
  return passkeys;
}

