import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

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

const sources = [...tsFiles('src'), ...tsFiles('interactions')]
  .map((file) => ({ file, imports: importsOf(readFileSync(path.join(root, file), 'utf8')) }));

const packageOf = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;

test('the import scanner sees static, multi-line, re-exported and dynamic imports', (t) => {
  const source = "import a from 'one';\nimport {\n  b,\n} from \"two/sub\";\nimport 'three';\nexport { c } from './four.ts';\nconst d = await import('five');";
  t.deepEqual(importsOf(source).sort(), ['./four.ts', 'five', 'one', 'three', 'two/sub']);
});

test('the scan covers the sources', (t) => {
  t.true(sources.some(({ file }) => file === 'src/store/open.ts'));
});

test('each third-party library is imported only from its home folder', (t) => {
  const misplaced = sources.flatMap(({ file, imports }) => imports
    .filter((specifier) => homes[packageOf(specifier)] && !file.startsWith(homes[packageOf(specifier)]!))
    .map((specifier) => `${file} imports ${specifier} (allowed only under ${homes[packageOf(specifier)]})`));
  t.deepEqual(misplaced, []);
});

test('nothing under src/ imports interactions/ except src/app.ts', (t) => {
  const interactions = path.join(root, 'interactions') + path.sep;
  const offending = sources
    .filter(({ file }) => file.startsWith('src/') && file !== 'src/app.ts')
    .flatMap(({ file, imports }) => imports
      .filter((specifier) => specifier.startsWith('.') && path.resolve(root, path.dirname(file), specifier).startsWith(interactions))
      .map((specifier) => `${file} imports ${specifier}`));
  t.deepEqual(offending, []);
});
