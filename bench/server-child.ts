/**
 * A benchmark's server in a child process of its own, and the members it logs in: shared by
 * `npm run bench` and `npm run bench:prune`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { hashPassword } from '../src/members/password.ts';
import { openStore } from '../src/store/open.ts';
import { enrolSoftPasskey, type SoftPasskey } from '../test/helpers/soft-authenticator.ts';
import { BENCH_RP_ID, type ChildMessage, type ServerUsage } from './common.ts';
import type { Target } from './driver.ts';

const here = import.meta.dirname;

/** A server child: ready once it has announced its issuer, answers usage questions over IPC. */
export class ServerChild {
  readonly flow: string;
  readonly target: Target;
  private readonly child: ChildProcess;
  private pending: ((usage: ServerUsage) => void) | undefined;
  private exited: string | undefined;

  private readonly waiting = new Map<string, (message: ChildMessage) => void>();

  private constructor(flow: string, child: ChildProcess, target: Target) {
    this.flow = flow;
    this.child = child;
    this.target = target;
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

  /** Starts `script` (in bench/, or an absolute path) with `env`; `profile` gives Node options for a CPU profile. */
  static start(flow: string, script: string, env: Record<string, string>, profile?: (flow: string) => string[]): Promise<ServerChild> {
    const execArgv = profile?.(flow) ?? [];
    const child = fork(path.resolve(here, script), [], {
      execPath: process.execPath,
      execArgv,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not start within 30 s`)), 30_000);
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
      child.once('message', (message: ChildMessage) => {
        clearTimeout(timer);
        if (message.type !== 'ready') return reject(new Error(`${script} sent ${message.type} before ready`));
        resolve(new ServerChild(flow, child, { name: flow, issuer: message.issuer, port: message.port }));
      });
    });
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
  stop(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, 5_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.disconnect();
    });
  }
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

