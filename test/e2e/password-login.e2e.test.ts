import test from 'ava';
import { newPage, waitForRelyingPartyCallback } from '../helpers/chromium.ts';
import { fillLogInForm } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { sharedBrowserAndApp } from '../helpers/e2e.ts';
import { WEBSITE, createMember } from '../helpers/test-app.ts';

const e2e = sharedBrowserAndApp();

const CALLBACK = WEBSITE.redirect_uris[0];
const website = () => RelyingParty.website(e2e.app);

const english = { number: 'JMB membership number', password: 'Password', submit: 'Log in' };
const japanese = { number: 'JMBお得意様番号', password: 'パスワード', submit: 'ログイン' };

for (const [language, locale, labels] of [['English', 'en-US', english], ['Japanese', 'ja-JP', japanese]] as const) {
  test.serial(`a member logs in with number and password on the ${language} page and the website gets acr loa:1 and amr pwd`, async (t) => {
    const member = await createMember(e2e.app.store);
    const rp = await website();
    const flow = await rp.start();
    const { context, page } = await newPage(e2e.browser, { locale });
    try {
      await page.goto(flow.url);
      t.regex(page.url(), /\/interaction\/[^/?]+$/, 'the authorization request lands on the log-in page');
      t.is(await page.locator('html').getAttribute('lang'), locale.slice(0, 2));

      const callback = waitForRelyingPartyCallback(page, CALLBACK);
      await fillLogInForm(page, labels, member);
      const callbackUrl = await callback;

      t.is(new URL(callbackUrl).searchParams.get('iss'), e2e.app.url);
      const tokens = await rp.redeem(callbackUrl, flow);
      const claims = tokens.claims()!;
      t.is(claims.sub, member.id);
      t.is(claims.acr, 'urn:jmb:loa:1');
      t.deepEqual(claims.amr, ['pwd']);
    } finally {
      await context.close();
    }
  });
}

test.serial('a wrong password shows the alert, keeps the membership number and clears the password', async (t) => {
  const member = await createMember(e2e.app.store);
  const { context, page } = await newPage(e2e.browser, { locale: 'en-US' });
  try {
    await page.goto((await (await website()).start()).url);
    const posted = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/login'));
    await fillLogInForm(page, english, { number: member.number, password: 'not the password' });
    t.is((await posted).status(), 401, 'the log-in form is refused as a wrong password, not as anything else');

    const alert = page.getByRole('alert');
    await alert.waitFor();
    t.is((await alert.textContent())?.trim(), 'The membership number or password is incorrect. You have 5 more tries before you have to wait.');
    t.is(await page.getByLabel(english.number, { exact: true }).inputValue(), member.number);
    t.is(await page.getByLabel(english.password, { exact: true }).inputValue(), '');
  } finally {
    await context.close();
  }
});

test.serial('on a Japanese browser the language switch shows the page in English and the log-in still works', async (t) => {
  const member = await createMember(e2e.app.store);
  const rp = await website();
  const flow = await rp.start();
  const { context, page } = await newPage(e2e.browser, { locale: 'ja-JP' });
  try {
    await page.goto(flow.url);
    await page.getByLabel(japanese.number, { exact: true }).waitFor();
    t.is(await page.getByRole('button', { name: english.submit, exact: true }).count(), 0, 'the page starts in Japanese');

    await page.getByRole('link', { name: 'English', exact: true }).click();
    await page.getByLabel(english.number, { exact: true }).waitFor();
    t.is(await page.locator('html').getAttribute('lang'), 'en');
    t.is(await page.getByLabel(japanese.number, { exact: true }).count(), 0);
    t.is(await page.getByRole('link', { name: 'English', exact: true }).getAttribute('aria-current'), 'true');

    const callback = waitForRelyingPartyCallback(page, CALLBACK);
    await fillLogInForm(page, english, member);
    const claims = (await rp.redeem(await callback, flow)).claims()!;
    t.is(claims.sub, member.id);
  } finally {
    await context.close();
  }
});

test.serial('the log-in page runs no inline script and its CSP forbids unsafe-inline', async (t) => {
  const { context, page } = await newPage(e2e.browser, { locale: 'en-US' });
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) violations.push(message.text());
  });
  try {
    const response = await page.goto((await (await website()).start()).url);
    t.truthy(response);
    t.is(response!.status(), 200);
    const csp = response!.headers()['content-security-policy'];
    t.truthy(csp, 'the log-in page sends a Content-Security-Policy');
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name.toLowerCase(), values]));
    const scriptSources = directives.get('script-src') ?? directives.get('default-src');
    t.truthy(scriptSources, 'scripts are restricted by script-src or default-src');
    t.false(scriptSources!.includes("'unsafe-inline'"));
    t.false(csp.includes("'unsafe-inline'"), 'no directive allows unsafe-inline');
    t.false(csp.includes("'unsafe-eval'"), 'no directive allows unsafe-eval');

    t.is(await page.locator('script:not([src])').count(), 0, 'no inline <script>');
    const handlers = await page.evaluate(() =>
      [...document.querySelectorAll('*')].flatMap((element) => [...element.attributes].filter((a) => a.name.startsWith('on')).map((a) => `${element.tagName}[${a.name}]`)),
    );
    t.deepEqual(handlers, [], 'no inline event handlers');
    const javascriptLinks = await page.locator('[href^="javascript:" i]').count();
    t.is(javascriptLinks, 0, 'no javascript: links');
    t.deepEqual(violations, [], 'the browser reports no CSP violation');
  } finally {
    await context.close();
  }
});
