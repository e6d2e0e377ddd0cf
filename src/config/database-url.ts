import path from 'node:path';

/** The embedded default DATABASE_URL: `sqlite:<DATA_DIR or ./data>/jmb-idp.db`, resolved against the working directory. */
export function defaultDatabaseUrl(env: NodeJS.ProcessEnv): string {
  return `sqlite:${path.join(path.resolve(env.DATA_DIR ?? './data'), 'jmb-idp.db')}`;
}

/** Which store a DATABASE_URL names: `sqlite:…`, `postgres://…` (or `postgresql://…`), `mongodb://…` (or `mongodb+srv://…`); undefined for anything else. */
export function databaseKindOf(databaseUrl: string): 'sqlite' | 'postgres' | 'mongodb' | undefined {
  if (databaseUrl.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return 'postgres';
  if (/^mongodb(\+srv)?:\/\//.test(databaseUrl)) return 'mongodb';
  return undefined;
}
