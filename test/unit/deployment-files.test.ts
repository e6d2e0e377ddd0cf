import test from 'ava';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { settingNames } from '../../src/config/settings.ts';

type Service = { environment?: Record<string, unknown> | string[]; profiles?: string[]; command?: string[] };

const root = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');
const services = (compose: string) => (parse(compose) as { services: Record<string, Service> }).services;

/** The variable names a service sets, from either `environment:` syntax. */
const environmentNames = (service: Service): string[] => {
  const environment = service.environment ?? {};
  return Array.isArray(environment) ? environment.map((entry) => entry.split('=')[0]!) : Object.keys(environment);
};

/** The instructions of the Dockerfile's last stage, the image that ships. */
const finalStage = (dockerfile: string): string[] => {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  return lines.slice(lines.findLastIndex((line) => /^FROM\s/i.test(line)));
};

test('every variable docker-compose.yml sets is a documented setting or TEST_MONGODB_URI', (t) => {
  const unknown = Object.entries(services(read('docker-compose.yml'))).flatMap(([name, service]) =>
    environmentNames(service).filter((variable) => !settingNames.has(variable) && variable !== 'TEST_MONGODB_URI')
      .map((variable) => `${name}: ${variable}`));
  t.deepEqual(unknown, []);
});

test('both environment syntaxes are read', (t) => {
  const sample = services('services:\n  a:\n    environment:\n      - PORT=1\n      - LOG_LEVEL\n  b:\n    environment:\n      ISSUER: x\n');
  t.deepEqual(environmentNames(sample.a!), ['PORT', 'LOG_LEVEL']);
  t.deepEqual(environmentNames(sample.b!), ['ISSUER']);
});

test('the compose file runs the IdP on MongoDB and the contract tests behind the test profile', (t) => {
  const { idp, mongo, 'contract-tests': contractTests } = services(read('docker-compose.yml'));
  t.truthy(mongo);
  t.regex(String((idp?.environment as Record<string, unknown>).DATABASE_URL), /^mongodb:\/\/mongo:27017\/.+replicaSet=rs0/);
  t.deepEqual(contractTests?.profiles, ['test']);
  t.regex(String((contractTests?.environment as Record<string, unknown>).TEST_MONGODB_URI), /^mongodb:\/\/mongo:27017\//);
});

test('the Dockerfile ships Node 24 with production dependencies only, as a non-root user', (t) => {
  const dockerfile = read('Dockerfile');
  const froms = dockerfile.split('\n').filter((line) => /^FROM\s/i.test(line));
  t.true(froms.length > 0);
  for (const from of froms) t.regex(from, /^FROM\s+(--platform=\S+\s+)?node:24([.-]|\s|$)/i);
  const stage = finalStage(dockerfile);
  t.true(stage.some((line) => /^RUN\s.*\bnpm ci\b.*--omit=dev\b/i.test(line)), 'the final stage runs npm ci --omit=dev');
  const users = stage.filter((line) => /^USER\s/i.test(line)).map((line) => line.split(/\s+/)[1]);
  t.true(users.length > 0, 'the final stage sets USER');
  t.notRegex(users.at(-1)!, /^(root|0)(:|$)/);
  t.true(stage.includes('CMD ["node", "src/main.ts"]'));
});

test('.dockerignore keeps dependencies, data and history out of the build context', (t) => {
  const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
  for (const entry of ['node_modules', 'data', '.git']) t.true(ignored.includes(entry), entry);
});
