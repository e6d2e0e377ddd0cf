import { readFile } from 'node:fs/promises';
import { parseKeyStore } from '../config/load.ts';
import { readProblem } from '../config/parse.ts';
import type { Clock } from '../store/port.ts';
import type { KeyStore } from '../config/signing-keys.ts';
import { providerJwks, type Jwks } from './provider-keys.ts';

export type SigningKeyWatchOptions = {
  /** The key store: JWKS_FILE, or the development keys under DATA_DIR. */
  file: string;
  /** The store as read at start-up. */
  initial: KeyStore;
  clock: Clock;
  everyMs: number;
  /** Told the JWKS to serve from now on, whenever what is published or which key signs changes. */
  onChange(jwks: Jwks): void;
  /**
   * Told why the file could not be used, in a line that holds no key material (with `error`, what the
   * provider threw, when it refused keys that passed the checks); the keys in use stay as they were.
   */
  onError(problem: string, error?: unknown): void;
};

/**
 * Reads the signing key store every `everyMs` and works out again, on the clock, which keys are
 * published and which signs: a rotation's new keys are published (and a retired key withdrawn)
 * without a restart, and a key starts signing at its `signs_from`. A file that cannot be read or
 * fails the checks the IdP starts with changes nothing, and nothing a check meets ever escapes it:
 * a bad file written to the one store every instance reads must not take them all down.
 */
export function watchSigningKeys(options: SigningKeyWatchOptions) {
  const { file, clock, onChange, onError } = options;
  let served = JSON.stringify(providerJwks(options.initial, clock()));

  async function check(): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      return onError(`cannot read JSON from "${file}" (${readProblem(error)})`);
    }
    const problems: string[] = [];
    const store = parseKeyStore(file, raw, problems, clock());
    if (!store) return onError(problems.join('; '));
    const jwks = providerJwks(store, clock());
    const text = JSON.stringify(jwks);
    if (text === served) return;
    try {
      onChange(jwks);
    } catch (error) {
      return onError(`the provider refused the keys of "${file}"`, error);
    }
    served = text;
  }

  const guarded = () => check().catch((error: unknown) => {
    try {
      onError('the key store could not be checked', error);
    } catch {
      // Reporting failed too: the keys in use stay, and the next check tries again.
    }
  });
  // One check at a time: a slow disk never lets two overlap.
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(guarded);
  }, options.everyMs);
  timer.unref();

  return {
    check: () => (running = running.then(guarded)),
    close: () => clearInterval(timer),
  };
}
