import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { settings } from '../../src/config/settings.ts';
import { anchorsOf, relativeLinksOf } from '../helpers/markdown.ts';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const readme = read('README.md');
const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
/** The manual: every Markdown file directly under docs/ (drafts in subfolders are not part of it yet). */
const manual = readdirSync(path.join(root, 'docs')).filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`);

test('the configuration page documents every setting the IdP reads', (t) => {
  const configuration = read('docs/configuration.md');
  for (const { name } of settings) t.regex(configuration, new RegExp(`\\| \`${name}\` \\|`), `${name} is in the settings table`);
});

test('the configuration page has one row per setting, and rows only for settings the IdP reads or the tests read', (t) => {
  const configuration = read('docs/configuration.md');
  const testsOnly = configuration.indexOf('\n## Tests only\n');
  const rows = [...configuration.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((row) => ({ name: row[1]!, testsOnly: testsOnly !== -1 && row.index > testsOnly }));
  for (const { name } of settings) t.is(rows.filter((row) => row.name === name).length, 1, `${name} has exactly one row`);
  const known = new Set(settings.map((setting) => setting.name));
  const unknown = rows.filter((row) => !known.has(row.name) && !row.testsOnly).map((row) => row.name);
  t.deepEqual(unknown, [], 'every row outside "Tests only" is a setting of src/config/settings.ts');
});

test('the README gives the two commands a newcomer needs, and they exist', (t) => {
  t.true(readme.includes('npm ci && npm start'));
  t.true(readme.includes('npm ci && npm test'));
  for (const script of ['start', 'test', 'members', 'demo', 'db:migrate', 'keys']) t.truthy(scripts[script], `npm run ${script} exists`);
});

test('the README stays under 200 lines', (t) => {
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
  t.true(lines < 200, `README.md has ${lines} lines`);
});

test('the README\'s index links every file of the manual, and each file it links exists', (t) => {
  const indexed = new Set(relativeLinksOf(readme).map((link) => link.file).filter((file) => file.startsWith('docs/')));
  for (const file of indexed) t.true(existsSync(path.join(root, file)), `${file} is linked from the README and exists`);
  t.true(manual.length >= 9);
  for (const file of manual) t.true(indexed.has(file), `${file} is in the README's index`);
});

test('every relative link in the README and the manual leads to a file, and to a heading there', (t) => {
  const broken: string[] = [];
  for (const document of ['README.md', ...manual]) {
    for (const { target, file, anchor } of relativeLinksOf(read(document))) {
      const resolved = file ? path.posix.join(path.posix.dirname(document), file) : document;
      const full = path.join(root, resolved);
      if (!existsSync(full)) broken.push(`${document}: ${target} (no file ${resolved})`);
      else if (anchor !== undefined && resolved.endsWith('.md') && statSync(full).isFile() && !anchorsOf(read(resolved)).has(anchor)) {
        broken.push(`${document}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
  }
  t.deepEqual(broken, []);
});

test('anchors and links are read as GitHub renders them', (t) => {
  const anchors = anchorsOf([
    '# JMB IdP',
    '## Durability level: `SQLITE_SYNCHRONOUS=full` against `normal`',
    '### JmbNotReady, JmbInstanceDown',
    '### "I didn\'t do that"',
    '## Backups',
    '### Backups',
    '```sh',
    '# a comment, not a heading',
    '```',
  ].join('\n'));
  t.deepEqual([...anchors], ['jmb-idp', 'durability-level-sqlite_synchronousfull-against-normal', 'jmbnotready-jmbinstancedown', 'i-didnt-do-that', 'backups', 'backups-1']);
  const links = relativeLinksOf('[a](storage.md#backups) [b](#claims) <https://example.com> [c](https://example.com) `[d](in-code.md)`\n```\n[e](fenced.md)\n```\n[f]: ../README.md');
  t.deepEqual(links, [
    { target: 'storage.md#backups', file: 'storage.md', anchor: 'backups' },
    { target: '#claims', file: '', anchor: 'claims' },
    { target: '../README.md', file: '../README.md', anchor: undefined },
  ]);
});
