import test from 'ava';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { settingNames } from '../../src/config/settings.ts';

type Service = {
  image?: string;
  build?: unknown;
  environment?: Record<string, unknown> | string[];
  profiles?: string[];
  command?: string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
};

const root = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');
// Compose files share settings between services through YAML merge keys (`<<: *idp`).
const services = (compose: string) => (parse(compose, { merge: true }) as { services: Record<string, Service> }).services;
const compose = () => services(read('docker-compose.yml'));

/** The variable names a service sets, from either `environment:` syntax. */
const environmentNames = (service: Service): string[] => {
  const environment = service.environment ?? {};
  return Array.isArray(environment) ? environment.map((entry) => entry.split('=')[0]!) : Object.keys(environment);
};
const environmentOf = (service: Service | undefined) => (service?.environment ?? {}) as Record<string, string>;

/** What the official images other than the IdP's read from their environment, as the compose file uses them. */
const IMAGE_VARIABLES: Record<string, readonly string[]> = {
  postgres: ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB'],
  mongo: [],
  nginx: [],
};
const imageName = (service: Service) => service.image?.split(':')[0] ?? '';

/** The instructions of the Dockerfile's last stage, the image that ships. */
const finalStage = (dockerfile: string): string[] => {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  return lines.slice(lines.findLastIndex((line) => /^FROM\s/i.test(line)));
};

test('every variable a service built from this repository sets is a setting the IdP knows (or TEST_MONGODB_URI); other images set only their own', (t) => {
  const unknown = Object.entries(compose()).flatMap(([name, service]) => {
    const known = service.build !== undefined
      ? (variable: string) => settingNames.has(variable) || variable === 'TEST_MONGODB_URI'
      : (variable: string) => (IMAGE_VARIABLES[imageName(service)] ?? []).includes(variable);
    return environmentNames(service).filter((variable) => !known(variable)).map((variable) => `${name}: ${variable}`);
  });
  t.deepEqual(unknown, []);
  t.true(Object.values(compose()).every((service) => service.build !== undefined || imageName(service) in IMAGE_VARIABLES), 'every other image is an official one listed here');
});

test('both environment syntaxes are read', (t) => {
  const sample = services('services:\n  a:\n    environment:\n      - PORT=1\n      - LOG_LEVEL\n  b:\n    environment:\n      ISSUER: x\n');
  t.deepEqual(environmentNames(sample.a!), ['PORT', 'LOG_LEVEL']);
  t.deepEqual(environmentNames(sample.b!), ['ISSUER']);
});

test('the default stack: PostgreSQL, its schema applied first, two IdP instances with the same settings behind one proxy port', (t) => {
  const all = compose();
  const stack = Object.fromEntries(Object.entries(all).filter(([, service]) => !service.profiles));
  t.deepEqual(Object.keys(stack).sort(), ['idp-1', 'idp-2', 'migrate', 'postgres', 'proxy']);
  const postgres = environmentOf(stack.postgres);
  const url = new URL(environmentOf(stack['idp-1']).DATABASE_URL!);
  t.is(url.protocol, 'postgres:');
  t.like({ user: url.username, password: url.password, host: url.hostname, db: url.pathname.slice(1) },
    { user: postgres.POSTGRES_USER, password: postgres.POSTGRES_PASSWORD, host: 'postgres', db: postgres.POSTGRES_DB }, 'the URL names the database the postgres service makes');
  t.is(environmentOf(stack.migrate).DATABASE_URL, url.toString());
  t.deepEqual(stack.migrate?.command, ['node', 'src/cli/migrate.ts']);
  t.deepEqual(environmentOf(stack['idp-1']), environmentOf(stack['idp-2']), 'one issuer, one database, one set of keys for both');
  t.is(environmentOf(stack['idp-1']).TRUST_PROXY, '1', 'one proxy in front, whose X-Forwarded-* headers are believed');
  t.is(stack['idp-1']?.depends_on?.migrate?.condition, 'service_completed_successfully');
  t.is(stack['idp-2']?.depends_on?.['idp-1']?.condition, 'service_healthy', 'the second starts once the first has made the development keys');
  t.deepEqual(stack['idp-1']?.volumes, stack['idp-2']?.volumes, 'one DATA_DIR volume: the same development keys');
  for (const instance of ['idp-1', 'idp-2']) t.is(stack[instance]?.ports, undefined, `${instance} is reached through the proxy only`);
  t.regex(stack.proxy?.image ?? '', /^nginx:\d/);
  t.deepEqual(stack.proxy?.ports, ['3000:3000']);
  t.true((stack.proxy?.volumes ?? []).includes('./deploy/nginx/jmb-idp.conf:/etc/nginx/conf.d/default.conf:ro'));
  t.is(environmentOf(stack['idp-1']).ISSUER, 'http://localhost:3000', 'the issuer is the proxy\'s port');
});

test('the proxy sends each request to one of both instances and sets exactly X-Forwarded-For and X-Forwarded-Proto', (t) => {
  const conf = read('deploy/nginx/jmb-idp.conf').split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean);
  const upstream = conf.filter((line) => /^server\s+\S+;$/.test(line)).map((line) => line.split(/\s+/)[1]!.replace(/;$/, ''));
  t.deepEqual(upstream, ['idp-1:3000', 'idp-2:3000']);
  t.true(conf.includes('listen 3000;'));
  const headers = conf.filter((line) => line.startsWith('proxy_set_header')).map((line) => line.split(/\s+/).slice(1).join(' '));
  t.deepEqual(headers, ['X-Forwarded-For $proxy_add_x_forwarded_for;', 'X-Forwarded-Proto $scheme;']);
  t.true(conf.includes('proxy_next_upstream error timeout;'), 'a request an instance received is never sent to another');
});

test('the MongoDB stack stays as the mongodb profile, on ports of its own, and the contract tests behind the test profile', (t) => {
  const all = compose();
  for (const name of ['mongo-migrate', 'idp-mongodb']) t.deepEqual(all[name]?.profiles, ['mongodb'], name);
  t.deepEqual(all.mongo?.profiles, ['mongodb', 'test']);
  t.regex(String(environmentOf(all['idp-mongodb']).DATABASE_URL), /^mongodb:\/\/mongo:27017\/.+replicaSet=rs0/);
  t.deepEqual(all['contract-tests']?.profiles, ['test']);
  t.regex(String(environmentOf(all['contract-tests']).TEST_MONGODB_URI), /^mongodb:\/\/mongo:27017\//);
  const published = Object.values(all).flatMap((service) => (service.ports ?? []).map((port) => port.split(':')[0]));
  t.is(new Set(published).size, published.length, 'both stacks can run side by side');
  const missing = Object.entries(all).flatMap(([name, service]) => Object.keys(service.depends_on ?? {}).filter((other) => !all[other]).map((other) => `${name} -> ${other}`));
  t.deepEqual(missing, []);
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
  t.true(stage.some((line) => /^ENV\s+MALLOC_ARENA_MAX=2$/.test(line)), 'the image keeps the C library to two malloc arenas');
});

test('.dockerignore keeps dependencies, data and history out of the build context', (t) => {
  const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
  for (const entry of ['node_modules', 'data', '.git']) t.true(ignored.includes(entry), entry);
});
