import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

// The dependency rules of the style guide (the architecture in a few lines; see docs/architecture.md),
// kept by scanning the sources' imports. Each rule is a function over the sources, also run against
// made-up sources below, so that each is seen to fail when broken.

const root = path.resolve(import.meta.dirname, '../..');

/** Each third-party library may be imported only from its home folder. */
const homes: Record<string, string> = {
  mongoose: 'src/store/mongo/',
  mongodb: 'src/store/mongo/',
  pg: 'src/store/postgres/',
  twilio: 'src/auth/sms-otp/',
  '@simplewebauthn/server': 'src/auth/passkey/',
  'prom-client': 'src/metrics/',
  pino: 'src/log.ts',
};

type Source = { file: string; text: string; imports: string[] };

/** Every module specifier a source imports or re-exports, statically or dynamically. */
function importsOf(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]!));
}

const tsFiles = (dir: string): string[] => {
  const full = path.join(root, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.posix.join(dir, file.split(path.sep).join('/')));
};

const sourceOf = (file: string, text: string): Source => ({ file, text, imports: importsOf(text) });
const sources = [...tsFiles('src'), ...tsFiles('interactions')].map((file) => sourceOf(file, readFileSync(path.join(root, file), 'utf8')));

const packageOf = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
/** A relative specifier as a path from the repository's root (`src/store/port.ts`); a package's name as it is. */
const target = (file: string, specifier: string) => (specifier.startsWith('.') ? path.posix.join(path.posix.dirname(file), specifier) : specifier);
const under = (folder: string) => (file: string) => file.startsWith(folder);
/** `file imports specifier` for each import of `sources` that `refused` refuses. */
const offending = (all: Source[], applies: (file: string) => boolean, refused: (to: string, file: string) => boolean): string[] =>
  all.filter(({ file }) => applies(file))
    .flatMap(({ file, imports }) => imports.filter((specifier) => refused(target(file, specifier), file)).map((specifier) => `${file} imports ${specifier}`));

/** The log-in method a file belongs to (its folder under src/auth/), if any. */
const methodOf = (file: string) => /^src\/auth\/([^/]+)\//.exec(file)?.[1];
const knowsHttpProviderOrAdapter = (to: string) =>
  ['koa', '@koa/router', 'koa-views', 'oidc-provider'].includes(packageOf(to))
  || to.startsWith('src/http/') || to.startsWith('interactions/') || to.startsWith('src/oidc/')
  || (to.startsWith('src/store/') && to !== 'src/store/port.ts');

const rules = {
  /** Rule 3: each third-party library has one home folder. */
  homes: (all: Source[]) => all.flatMap(({ file, imports }) => imports
    .filter((specifier) => homes[packageOf(specifier)] && !file.startsWith(homes[packageOf(specifier)]!))
    .map((specifier) => `${file} imports ${specifier} (allowed only under ${homes[packageOf(specifier)]})`)),
  /** Rule 1: src/ never imports interactions/, except where app.ts mounts the route table. */
  interactions: (all: Source[]) => offending(all, (file) => file.startsWith('src/') && file !== 'src/app.ts', (to) => to.startsWith('interactions/')),
  /**
   * Rule 2: the log-in methods (src/auth), the member records (src/members) and the account use cases
   * (src/account) are plain functions over the store port: no Koa, no HTTP layer, no oidc-provider
   * (nor src/oidc, the provider's side), no store adapter.
   */
  plainUseCases: (all: Source[]) => offending(all, (file) => ['src/auth/', 'src/members/', 'src/account/'].some((folder) => file.startsWith(folder)), knowsHttpProviderOrAdapter),
  /** Rule 4: no log-in method imports another; what they share lives in src/auth/ itself and imports none of them. */
  methodsApart: (all: Source[]) => offending(all, under('src/auth/'), (to, file) => methodOf(to) !== undefined && methodOf(to) !== methodOf(file)),
  /** Rule 6: src/config is the ground floor: Node, zod and itself. */
  groundFloor: (all: Source[]) => offending(all, under('src/config/'), (to) => !(to.startsWith('node:') || to === 'zod' || to.startsWith('src/config/'))),
  /**
   * The entry points are src/main.ts and src/cli/*.ts: no other source reads the command line or
   * runs and exits at the top level (a top-level `await`, `process.exit` or `process.exitCode`).
   */
  entryPoints: (all: Source[]) => all
    .filter(({ file }) => file !== 'src/main.ts' && !/^src\/cli\/[^/]+\.ts$/.test(file))
    .filter(({ text }) => /\bprocess\.argv\b/.test(text) || /^(await\s|process\.(exit|exitCode)\b)/m.test(text))
    .map(({ file }) => `${file} runs as an entry point`),
};

test('the import scanner sees static, multi-line, re-exported and dynamic imports', (t) => {
  const source = "import a from 'one';\nimport {\n  b,\n} from \"two/sub\";\nimport 'three';\nexport { c } from './four.ts';\nconst d = await import('five');";
  t.deepEqual(importsOf(source).sort(), ['./four.ts', 'five', 'one', 'three', 'two/sub']);
});

test('the scan covers the sources', (t) => {
  for (const file of ['src/store/open.ts', 'src/auth/auth-error.ts', 'src/config/load.ts', 'src/cli/members.ts', 'interactions/routes.ts']) {
    t.true(sources.some((source) => source.file === file), file);
  }
});

test('each third-party library is imported only from its home folder', (t) => {
  t.deepEqual(rules.homes(sources), []);
});

test('nothing under src/ imports interactions/ except src/app.ts', (t) => {
  t.deepEqual(rules.interactions(sources), []);
});

test('log-in methods, member records and account use cases know nothing of Koa, the HTTP layer, oidc-provider or a store adapter', (t) => {
  t.deepEqual(rules.plainUseCases(sources), []);
});

test('no log-in method imports another, and what they share imports none of them', (t) => {
  t.deepEqual(rules.methodsApart(sources), []);
});

test('src/config imports nothing from the layers above it', (t) => {
  t.deepEqual(rules.groundFloor(sources), []);
});

test('only src/main.ts and src/cli/*.ts are entry points', (t) => {
  t.deepEqual(rules.entryPoints(sources), []);
});

test('every command the project runs is src/main.ts or a tool in src/cli/', (t) => {
  const scripts = Object.values((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
  const deployed = ['Dockerfile', 'docker-compose.yml'].map((file) => readFileSync(path.join(root, file), 'utf8')).join('\n');
  const started = [...[...scripts, deployed].join('\n').matchAll(/\bnode"?,?\s*"?(src\/[\w./-]+\.ts)/g)].map((match) => match[1]!);
  t.true(started.includes('src/main.ts') && started.includes('src/cli/members.ts'), 'the scan finds the commands');
  t.deepEqual(started.filter((file) => file !== 'src/main.ts' && !/^src\/cli\/[^/]+\.ts$/.test(file)), []);
  for (const file of started) t.true(existsSync(path.join(root, file)), `${file} exists`);
});

test('each rule refuses a source that breaks it', (t) => {
  const made = (file: string, text: string) => [sourceOf(file, text)];
  t.is(rules.homes(made('src/oidc/x.ts', "import twilio from 'twilio';")).length, 1);
  t.is(rules.interactions(made('src/oidc/x.ts', "import { idpRoutes } from '../../interactions/routes.ts';")).length, 1);
  t.is(rules.plainUseCases(made('src/auth/passkey/x.ts', "import type { Context } from 'koa';")).length, 1);
  t.is(rules.plainUseCases(made('src/auth/sms-otp/x.ts', "import { HttpError } from '../../http/http-error.ts';")).length, 1);
  t.is(rules.plainUseCases(made('src/account/x.ts', "import type Provider from 'oidc-provider';")).length, 1);
  t.is(rules.plainUseCases(made('src/members/x.ts', "import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';")).length, 1);
  t.is(rules.plainUseCases(made('src/auth/password/x.ts', "import type { Store } from '../../store/port.ts';")).length, 0, 'the store port is theirs');
  t.is(rules.methodsApart(made('src/auth/password/x.ts', "import { isOtpError } from '../sms-otp/sms-otp.ts';")).length, 1);
  t.is(rules.methodsApart(made('src/auth/auth-error.ts', "import type { SmsFailure } from './sms-otp/sms-sender.ts';")).length, 1);
  t.is(rules.methodsApart(made('src/auth/passkey/x.ts', "import { AuthError } from '../auth-error.ts';\nimport { x } from './challenges.ts';")).length, 0);
  t.is(rules.groundFloor(made('src/config/x.ts', "import { parseTrustProxy } from '../http/client-address.ts';")).length, 1);
  t.is(rules.groundFloor(made('src/config/x.ts', "import type { KindBounds } from '../store/port.ts';")).length, 1);
  t.is(rules.groundFloor(made('src/config/x.ts', "import { z } from 'zod';\nimport path from 'node:path';\nimport { parse } from './parse.ts';")).length, 0);
  t.is(rules.entryPoints(made('src/store/tool.ts', 'const [url] = process.argv.slice(2);')).length, 1);
  t.is(rules.entryPoints(made('src/store/tool.ts', 'async function main() {}\nawait main();')).length, 1);
  t.is(rules.entryPoints(made('src/store/tool.ts', 'process.exitCode = 1;')).length, 1);
  t.is(rules.entryPoints(made('src/cli/tool.ts', 'await main(process.argv.slice(2));')).length, 0);
  t.is(rules.entryPoints(made('src/config/load.ts', 'export function f() {\n  process.exit(1);\n}')).length, 0, 'exiting from inside a function is not running at import');
});
