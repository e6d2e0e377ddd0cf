import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ACTIVITY_WORDING, describeActivity } from '../../interactions/activity.ts';
import { OFFER_OUTCOMES } from '../../src/account/passkey-offer.ts';
import { locales, translator } from '../../src/i18n/messages.ts';
import type { AuditEvent } from '../../src/store/port.ts';

const root = path.resolve(import.meta.dirname, '../..');
const sources = ['src', 'interactions'].flatMap((dir) => readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .map((file) => ({ file: path.posix.join(dir, file.split(path.sep).join('/')), text: readFileSync(path.join(root, dir, file), 'utf8') })));

/** Types built from a template (`passkey_offer.${outcome}`): every value the template can take. */
const TEMPLATE_VALUES: Record<string, readonly string[]> = { 'passkey_offer.': OFFER_OUTCOMES };

/** Where the string or comment starting at `i` ends (its last character), or `i` itself for code. */
function skipped(text: string, i: number): number {
  const char = text[i]!;
  if (char === '/' && text[i + 1] === '/') return text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
  if (char === '/' && text[i + 1] === '*') return text.indexOf('*/', i) + 1;
  if (char !== '\'' && char !== '"' && char !== '`') return i;
  for (i += 1; i < text.length && text[i] !== char; i += 1) if (text[i] === '\\') i += 1;
  return i;
}

/** The text between the bracket at `open` and its match, skipping strings and comments. */
function bracketed(text: string, open: number): string {
  const pairs: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  const stack: string[] = [];
  for (let i = open; i < text.length; i += 1) {
    const end = skipped(text, i);
    if (end !== i) {
      i = end;
      continue;
    }
    const char = text[i]!;
    if (pairs[char]) stack.push(pairs[char]!);
    else if (char === stack.at(-1)) {
      stack.pop();
      if (stack.length === 0) return text.slice(open + 1, i);
    }
  }
  throw new Error(`unbalanced brackets at ${JSON.stringify(text.slice(open, open + 80))}`);
}

/** The parts of a parameter or argument list, split at commas outside brackets, strings, comments and type arguments. */
function topLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i += 1) {
    const end = skipped(list, i);
    if (end !== i) {
      i = end;
      continue;
    }
    const char = list[i]!;
    if ('([{<'.includes(char)) depth += 1;
    else if (')]}'.includes(char) || (char === '>' && list[i - 1] !== '=')) depth -= 1;
    else if (char === ',' && depth === 0) {
      parts.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(list.slice(start).trim());
  return parts.filter(Boolean);
}

const AUDIT_TYPE = /^'([a-z_]+\.[a-z_.-]+)'$/;

/**
 * Every audit event type the code writes: `type: 'sms.sent'` in an event, `type: \`passkey_offer.${…}\``
 * (expanded from its values), and the literal given to a function that takes the type as its
 * parameter `type` and writes it to the audit trail (`supportCommand('support.unlocked', …)`).
 */
function auditTypesWritten(): { types: Set<string>; problems: string[] } {
  const types = new Set<string>();
  const problems: string[] = [];
  for (const { file, text } of sources) {
    for (const match of text.matchAll(/\btype:\s*'([a-z_]+\.[a-z_.-]+)'/g)) types.add(match[1]!);
    for (const match of text.matchAll(/\btype:\s*`([a-z_]+\.)\$\{/g)) {
      const values = TEMPLATE_VALUES[match[1]!];
      if (values) values.forEach((value) => types.add(`${match[1]}${value}`));
      else problems.push(`${file} builds audit type ${match[1]}\${…}: list its values in TEMPLATE_VALUES`);
    }
  }
  // Writers that take the type as a parameter: declared where the audit trail is written.
  const writers = sources.filter(({ text }) => /\baudit\b/.test(text)).flatMap(({ file, text }) =>
    [...text.matchAll(/(export\s+)?(?:async\s+)?(?:function\s+(\w+)\s*\(|const\s+(\w+)\s*=\s*(?:async\s*)?\()/g)].flatMap((match) => {
      const params = topLevel(bracketed(text, match.index + match[0].length - 1)).map((param) => param.split(/[?:=]/)[0]!.trim());
      const index = params.indexOf('type');
      return index < 0 ? [] : [{ name: (match[2] ?? match[3])!, index, file, exported: !!match[1] }];
    }));
  for (const writer of writers) {
    for (const { file, text } of sources) {
      if (!writer.exported && file !== writer.file) continue;
      for (const call of text.matchAll(new RegExp(`(?<![\\w.])${writer.name}\\(`, 'g'))) {
        const argument = topLevel(bracketed(text, call.index + call[0].length - 1))[writer.index];
        const literal = argument && AUDIT_TYPE.exec(argument);
        if (literal) types.add(literal[1]!);
      }
    }
  }
  return { types, problems };
}

const event = (type: string, outcome: AuditEvent['outcome'] = 'success', detail?: AuditEvent['detail']): AuditEvent =>
  ({ memberId: 'm', at: new Date(0), type, outcome, ...(detail && { detail }) });

test('the scan finds the audit types written in events, built from templates and given to writers', (t) => {
  const { types, problems } = auditTypesWritten();
  t.deepEqual(problems, []);
  for (const known of ['login.password', 'session.ended', 'sms.verify', 'passkey.added', 'passkey_offer.dismissed', 'support.unlocked', 'support.logged_out_everywhere']) {
    t.true(types.has(known), `found ${known}`);
  }
});

test('every audit type written anywhere in src/ and interactions/ has its own wording in both languages', (t) => {
  const { types } = auditTypesWritten();
  const missing: string[] = [];
  for (const locale of locales) {
    const translate = translator(locale);
    const generic = [translate('activity.other'), translate('activity.failed', { what: translate('activity.other') })];
    for (const type of types) {
      if (!Object.hasOwn(ACTIVITY_WORDING, type)) missing.push(`${type}: no wording`);
      for (const outcome of ['success', 'failure', 'info'] as const) {
        const { what } = describeActivity(translate, event(type, outcome));
        if (generic.includes(what) || /\{\w+\}/.test(what)) missing.push(`${type} (${outcome}, ${locale}): "${what}"`);
      }
    }
  }
  t.deepEqual(missing, []);
});

test('a session logged out names its device and address; the desk is named as the one who acted', (t) => {
  const member = { by: 'member', device: 'Chrome on Android', from: '198.51.100.7' };
  const en = translator('en');
  const ja = translator('ja');
  t.is(describeActivity(en, event('session.ended', 'info', { ...member, scope: 'one' })).what, 'Logged out a device: Chrome on Android (198.51.100.7)');
  t.is(describeActivity(ja, event('session.ended', 'info', { ...member, scope: 'one' })).what, '端末をログアウト：Android の Chrome（198.51.100.7）');
  t.is(describeActivity(en, event('session.ended', 'info', { ...member, scope: 'others' })).what, 'Logged out everywhere else: Chrome on Android (198.51.100.7)');
  t.is(describeActivity(ja, event('session.ended', 'info', { ...member, scope: 'others' })).what, 'ほかの端末をすべてログアウト：Android の Chrome（198.51.100.7）');
  t.is(describeActivity(en, event('session.ended', 'info', { by: 'member' })).what, 'Logged out a device', 'an event written before devices were kept');
  const desk = describeActivity(ja, event('session.ended', 'info', { by: 'desk-7', device: 'Safari on iOS', scope: 'all' }));
  t.is(desk.what, 'JMBデスクがログアウト：iOS の Safari');
  t.is(desk.device, 'JMBデスク');
  t.is(describeActivity(en, event('support.unlocked', 'info', { by: 'desk-7', reason: 'called in' })).what, 'Log-in waits lifted by the JMB desk', 'no operator or reason shown');
});

test('the device and address of each row are the ones the event kept, the device in the page\'s language', (t) => {
  const row = describeActivity(translator('ja'), { ...event('login.password'), ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36' });
  t.deepEqual(row, { what: 'お得意様番号とパスワードでログイン', device: 'Linux の Chrome', place: '203.0.113.9' });
});

test('waits, SMS purposes and passkey names are worded in full', (t) => {
  const en = translator('en');
  const ja = translator('ja');
  t.is(describeActivity(en, event('login.paused', 'info', { seconds: 300 })).what, 'Password log-ins paused for 5 minutes after unsuccessful attempts');
  t.is(describeActivity(ja, event('login.paused', 'info', { seconds: 45 })).what, 'ログイン失敗が続いたため、パスワードでのログインを45秒間停止');
  t.is(describeActivity(en, event('sms.verify', 'success', { purpose: 'way-in' })).what, 'Browser confirmed by SMS code to log in without waiting');
  t.is(describeActivity(ja, event('sms.verify', 'failure', { purpose: 'account' })).what, '誤ったSMS認証コードを入力');
  t.is(describeActivity(ja, event('passkey.renamed', 'success', { from: 'Windows の Chrome', to: '会社のパソコン' })).what, 'パスキー「Windows の Chrome」の名前を「会社のパソコン」に変更');
  t.is(describeActivity(ja, event('some.future_type', 'failure')).what, 'アカウントの操作（失敗）', 'no space before a full-width bracket');
});
