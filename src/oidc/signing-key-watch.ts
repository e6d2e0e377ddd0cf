import { readFile } from 'node:fs/promises';
import { parseKeyStore } from '../config/load.ts';
import type { Clock } from '../store/port.ts';
import { providerJwks, type Jwks, type KeyStore } from './signing-keys.ts';

export type SigningKeyWatchOptions = {
  /** The key store: JWKS_FILE, or the development keys under DATA_DIR. */
  file: string;
  /** The store as read at start-up. */
  initial: KeyStore;
  clock: Clock;
  everyMs: number;
  /** Told the JWKS to serve from now on, whenever what is published or which key signs changes. */
  onChange(jwks: Jwks): void;
  /** Told why the file could not be used; the keys in use stay as they were. */
  onError(problem: string): void;
};

/**
 * Reads the signing key store every `everyMs` and works out again, on the clock, which keys are
 * published and which signs: a rotation's new keys are published (and a retired key withdrawn)
 * without a restart, and a key starts signing at its `signs_from`. A file that cannot be read or
 * fails the checks the IdP starts with changes nothing.
 */
export function watchSigningKeys(options: SigningKeyWatchOptions) {
  const { file, clock, onChange, onError } = options;
  let store = options.initial;
  let served = JSON.stringify(providerJwks(store, clock()));

  async function check(): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      return onError(`cannot read JSON from "${file}" (${(error as Error).message})`);
    }
    const problems: string[] = [];
    const read = parseKeyStore(file, raw, problems, clock());
    if (!read) return onError(problems.join('; '));
    store = read;
    const jwks = providerJwks(store, clock());
    const text = JSON.stringify(jwks);
    if (text === served) return;
    served = text;
    onChange(jwks);
  }

  // One check at a time: a slow disk never lets two overlap.
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(check);
  }, options.everyMs);
  timer.unref();

  return {
    check: () => (running = running.then(check)),
    close: () => clearInterval(timer),
  };
}
