import test from 'ava';
import { Browser } from '../helpers/browser.ts';
import { openLogInPage } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
test.before(async () => {
  app = await startTestApp();
});
test.after.always(async () => app?.stop());

async function loginPage(acceptLanguage: string, params: Record<string, string> = {}, browser = new Browser(app.url)) {
  browser.acceptLanguage = acceptLanguage;
  const rp = await RelyingParty.website(app);
  const { page, url } = await openLogInPage(browser, rp, params);
  return { html: page.html, url, browser };
}

const label = (html: string, id: string) => new RegExp(`<label for="${id}">([^<]+)</label>`).exec(html)?.[1];

test('Japanese is the default, English when the browser prefers it', async (t) => {
  const ja = await loginPage('');
  t.regex(ja.html, /<html lang="ja">/);
  t.is(label(ja.html, 'number'), 'JMBお得意様番号');
  t.is(label(ja.html, 'password'), 'パスワード');
  const en = await loginPage('en-GB,en;q=0.9,ja;q=0.5');
  t.regex(en.html, /<html lang="en">/);
  t.is(label(en.html, 'number'), 'JMB membership number');
  t.is(label(en.html, 'password'), 'Password');
  t.regex(en.html, /<button type="submit" class="primary">Log in<\/button>/);
});

test('ui_locales from the relying party wins over the browser', async (t) => {
  const page = await loginPage('ja', { ui_locales: 'en-US ja' });
  t.is(label(page.html, 'number'), 'JMB membership number');
});

test('the language switch changes the page and is remembered', async (t) => {
  const first = await loginPage('en');
  const link = /<a href="([^"]+)" lang="ja"/.exec(first.html)![1]!.replaceAll('&amp;', '&');
  const switched = await first.browser.get(link);
  t.is(label(switched.html, 'number'), 'JMBお得意様番号');
  const again = await first.browser.get(first.url);
  t.is(label(again.html, 'number'), 'JMBお得意様番号', 'the choice sticks for the next page');
});

test('the log-in field is ready for passkey autofill and phone keyboards', async (t) => {
  const { html } = await loginPage('en');
  t.regex(html, /id="number"[^>]*inputmode="numeric"[^>]*autocomplete="username webauthn"/);
  t.regex(html, /id="password"[^>]*autocomplete="current-password"/);
  t.notRegex(html, /<script(?![^>]*src=)[^>]*>/, 'no inline script');
});
