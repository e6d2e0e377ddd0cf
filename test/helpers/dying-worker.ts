/** A verifier worker that dies on its first check, for the tests of the verifier's failure handling. */
import { parentPort } from 'node:worker_threads';

parentPort!.once('message', () => process.exit(3));
