/** The worker thread of the assertion verifier (see assertion-verifier.ts). */
import { parentPort } from 'node:worker_threads';
import { verifyAuthenticationResponse, type VerifyAuthenticationResponseOpts } from '@simplewebauthn/server';

const port = parentPort!;
port.on('message', ({ id, options }: { id: number; options: VerifyAuthenticationResponseOpts }) => {
  verifyAuthenticationResponse(options).then(
    (result) => port.postMessage({ id, result }),
    (error: unknown) => port.postMessage({ id, error: error instanceof Error ? error.message : String(error) }),
  );
});
