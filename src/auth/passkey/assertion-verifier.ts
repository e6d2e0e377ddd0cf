import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  verifyAuthenticationResponse,
  type VerifiedAuthenticationResponse,
  type VerifyAuthenticationResponseOpts,
} from '@simplewebauthn/server';

/** Checks one WebAuthn assertion (@simplewebauthn/server's verifyAuthenticationResponse, same contract). */
export type VerifyAssertion = (options: VerifyAuthenticationResponseOpts) => Promise<VerifiedAuthenticationResponse>;

export type AssertionVerifier = { verify: VerifyAssertion; close(): Promise<void> };

/** On the calling thread. */
export const verifyHere: VerifyAssertion = verifyAuthenticationResponse;

/** The check itself could not run (its worker failed): a fault of the IdP, not of the assertion. */
export class VerifierUnavailableError extends Error {}

type Pending = { resolve: (result: VerifiedAuthenticationResponse) => void; reject: (error: Error) => void };
type Reply = { id: number; result?: VerifiedAuthenticationResponse; error?: string };

/**
 * Assertion checks on worker threads. Checking a signature is pure CPU work (COSE key import, ECDSA or
 * RSA verification, hashing): about half a millisecond that would otherwise hold up every request
 * waiting on the serving thread. Answers and errors are the library's own, messages included.
 * A worker that fails takes its pending checks with it (they reject) and the pool continues with
 * the others; with none left, checks run on the calling thread.
 */
export function createAssertionVerifier(
  size = Math.max(1, Math.min(4, availableParallelism() - 1)),
  script: URL = new URL('./assertion-worker.ts', import.meta.url),
): AssertionVerifier {
  const pending = new Map<number, Pending & { worker: Worker }>();
  let nextId = 0;
  let turn = 0;
  let closing = false;
  const workers: Worker[] = [];

  const fail = (worker: Worker, reason: string) => {
    const at = workers.indexOf(worker);
    if (at !== -1) workers.splice(at, 1);
    for (const [id, entry] of pending) {
      if (entry.worker !== worker) continue;
      pending.delete(id);
      entry.reject(new VerifierUnavailableError(`the passkey check could not be completed: ${reason}`));
    }
  };

  for (let i = 0; i < size; i++) {
    const worker = new Worker(script);
    worker.unref();
    worker.on('message', ({ id, result, error }: Reply) => {
      const entry = pending.get(id);
      if (!entry) return;
      pending.delete(id);
      if (error !== undefined) entry.reject(new Error(error));
      else entry.resolve(result!);
    });
    worker.on('error', (error) => fail(worker, error.message));
    worker.on('exit', (code) => fail(worker, `worker exited with ${code}`));
    workers.push(worker);
  }

  return {
    verify(options) {
      if (closing || workers.length === 0) return verifyHere(options);
      const worker = workers[turn++ % workers.length]!;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, worker });
        worker.postMessage({ id, options });
      });
    },
    async close() {
      closing = true;
      await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
    },
  };
}
