import path from 'node:path';

/** The signing key store: JWKS_FILE, or `jwks.json` under DATA_DIR (generated there in development), resolved against the working directory. */
export function keyStoreFileOf(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.JWKS_FILE ?? path.join(path.resolve(env.DATA_DIR ?? './data'), 'jwks.json'));
}
