import { readFileSync } from 'node:fs';
import test from 'ava';
import { settings } from '../../src/config/settings.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const scripts = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).scripts as Record<string, string>;

test('the README documents every setting the IdP reads', (t) => {
  for (const { name } of settings) t.regex(readme, new RegExp(`\\| \`${name}\` \\|`), `${name} is in the settings table`);
});

test('the README gives the two commands a newcomer needs, and they exist', (t) => {
  t.true(readme.includes('npm ci && npm start'));
  t.true(readme.includes('npm ci && npm test'));
  for (const script of ['start', 'test', 'members', 'demo', 'db:migrate', 'keys']) t.truthy(scripts[script], `npm run ${script} exists`);
});
