import path from 'node:path';

/** The embedded default DATABASE_URL: `sqlite:<DATA_DIR or ./data>/jmb-idp.db`, resolved against the working directory. */
export function defaultDatabaseUrl(env: NodeJS.ProcessEnv): string {
  return `sqlite:${path.join(path.resolve(env.DATA_DIR ?? './data'), 'jmb-idp.db')}`;
}
