import test from 'ava';
import { Browser, alertText, hiddenField } from '../helpers/browser.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { createMember, startTestApp, type TestApp } from '../helpers/test-app.ts';

// 13:34:51.5 in Tokyo: a wait of 30 s started now runs until 13:35:21.5.
const START = Date.parse('2026-04-01T04:34:51.500Z');
let now = START;
let app: TestApp;
test.before(async () => {
  app = await startTestApp({
    clock: () => now,
    env: {
      TRUST_PROXY: '1',
      LOGIN_MAX_FAILURES_PER_MEMBER: '3',
      LOGIN_MAX_FAILURES_PER_DEVICE: '3',
      LOGIN_WAIT_BASE_SECONDS: '30',
      PASSWORD_HELP_URL: 'https://jmb.example/password-reset?from=idp',
      SUPPORT_CONTACT: 'JMB Service Desk 0570-025-071 <9:00–17:30> & "daily"',
    },
  });
});
test.after.always(async () => app?.stop());

let nextAddress = 1;
/** A browser of its own behind a client address of its own, unless one is given. */
function browserAt(address = `198.51.100.${nextAddress++}`, language = 'en'): Browser {
  const browser = new Browser(app.url);
  browser.extraHeaders = { 'x-forwarded-for': address };
  browser.acceptLanguage = language;
  return browser;
}

async function attempt(browser: Browser, number: string, password: string) {
  const rp = await RelyingParty.website(app);
  const { final, url } = await browser.follow((await rp.start()).url);
  const response = await browser.post(`${url}/login`, { csrf: hiddenField(final.html, 'csrf'), number, password });
  const uid = url.split('/').pop()!;
  return {
    status: response.status,
    alert: alertText(response.html)?.replace(/\s/g, ' '),
    retryAfter: response.headers.get('retry-after'),
    // The page as a member sees it, apart from what differs between any two sign-ins.
    html: response.html.replaceAll(uid, 'UID').replace(/name="csrf" value="[^"]*"/g, '').replaceAll(number, 'NUMBER'),
  };
}

const WRONG = 'The membership number or password is incorrect.';

test.serial('the page says how many tries are left before a wait, counting the same for an unknown number as for a real one', async (t) => {
  const member = await createMember(app.store);
  const seen = [];
  for (const number of [member.number, '88880001']) {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await attempt(browserAt(), number, 'a wrong guess'));
    seen.push(answers);
  }
  const [real, unknown] = seen as [Awaited<ReturnType<typeof attempt>>[], Awaited<ReturnType<typeof attempt>>[]];
  t.deepEqual(real.map((a) => a.alert), [
    `${WRONG} You have 3 more tries before you have to wait.`,
    `${WRONG} You have 2 more tries before you have to wait.`,
    `${WRONG} You have 1 more try before you have to wait.`,
    `${WRONG} Too many unsuccessful attempts. Please try again after 1:36 PM (JST).`,
  ], 'three failures are free and the fourth starts the wait, as the page foretold');
  t.deepEqual(real.map((a) => a.status), [401, 401, 401, 401]);
  t.deepEqual(unknown.map((a) => a.alert), real.map((a) => a.alert), 'an unknown number is counted down exactly like a real one');
  t.deepEqual(unknown.map((a) => a.html), real.map((a) => a.html), 'the pages differ only in the number typed');
  now += 3_600_000;
});

test.serial('a browser the member logged in from before counts down its own tries, whatever strangers did elsewhere', async (t) => {
  const member = await createMember(app.store);
  const own = browserAt('203.0.113.30');
  t.is((await attempt(own, member.number, member.password)).status, 303);
  for (let i = 0; i < 2; i++) await attempt(browserAt(), member.number, 'a stranger guesses');
  t.is((await attempt(browserAt(), member.number, 'a stranger guesses')).alert, `${WRONG} You have 1 more try before you have to wait.`, 'strangers have one try left on the number');
  t.is((await attempt(own, member.number, 'fat fingers')).alert, `${WRONG} You have 3 more tries before you have to wait.`, 'the member\'s own browser has its whole budget');
  t.is((await attempt(own, member.number, 'fat fingers')).alert, `${WRONG} You have 2 more tries before you have to wait.`);
  now += 3_600_000;
});

test.serial('a wait shows the first minute at which a try is sure to be accepted, in English and in Japanese', async (t) => {
  now = START + 7 * 24 * 3_600_000;
  const member = await createMember(app.store);
  for (let i = 0; i < 4; i++) await attempt(browserAt(), member.number, 'a stranger guesses');

  // 13:35:06: the wait runs until 13:35:21.5, so a time rounded down ("1:35 PM") would be wrong.
  now += 14_500;
  const refused = await attempt(browserAt(), member.number, member.password);
  t.is(refused.status, 429);
  t.is(refused.alert, 'Too many unsuccessful attempts. Please try again after 1:36 PM (JST).');
  t.is(refused.retryAfter, '16', 'Retry-After counts the seconds the wait really has left, rounded up');
  const japanese = await attempt(browserAt(undefined, 'ja'), member.number, member.password);
  t.is(japanese.alert, 'ログインの失敗が続いたため、一時的にご利用いただけません。日本時間13:36以降にもう一度お試しください。');

  now = START + 7 * 24 * 3_600_000 + 68_500; // 13:36:00 in Tokyo
  t.is((await attempt(browserAt(), member.number, member.password)).status, 303, 'at the time shown the right password is accepted');
  now += 3_600_000;
});

test.serial('"Forgot your password or membership number?" leads to a page with the reset path, the service desk and a way back', async (t) => {
  const browser = browserAt();
  const rp = await RelyingParty.website(app);
  const { final, url } = await browser.follow((await rp.start()).url);
  const link = /<a href="([^"]*)">Forgot your password or membership number\?<\/a>/.exec(final.html);
  t.truthy(link, 'the log-in page links to the help');
  const uid = url.split('/').pop()!;
  t.is(link![1], `/help/login?return=${encodeURIComponent(`/interaction/${uid}`)}`);

  const help = await browser.get(link![1]!.replaceAll('&amp;', '&'));
  t.is(help.status, 200);
  t.regex(help.html, /<h1>Forgot your password or membership number\?<\/h1>/);
  t.regex(help.html, /<a [^>]*href="https:\/\/jmb\.example\/password-reset\?from=idp"[^>]*>/, 'the programme\'s reset path');
  t.true(help.html.includes('JMB Service Desk 0570-025-071 &lt;9:00–17:30&gt; &amp; &#34;daily&#34;'), 'the service desk contact, as text');
  t.regex(help.html, new RegExp(`<a [^>]*href="/interaction/${uid}"[^>]*>Back</a>`), 'Back returns to the sign-in');

  const japanese = await browser.get(`/help/login?return=${encodeURIComponent(`/interaction/${uid}`)}&lang=ja`);
  t.regex(japanese.html, /<h1>お得意様番号・パスワードをお忘れの方<\/h1>/);
});

test.serial('the help page\'s Back never leads to another site', async (t) => {
  for (const elsewhere of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/%09/evil.example', '/\t/evil.example']) {
    const help = await browserAt().get(`/help/login?return=${encodeURIComponent(elsewhere)}`);
    t.is(help.status, 200);
    const back = /<a [^>]*href="([^"]*)"[^>]*>Back<\/a>/.exec(help.html)?.[1];
    t.truthy(back, `${elsewhere}: a way back`);
    // As a browser reads the link on this page: it must stay on the IdP's own origin.
    t.is(new URL(back!.replaceAll('&amp;', '&'), `${app.url}/help/login`).origin, new URL(app.url).origin, `${elsewhere} → ${back}`);
  }
});

test('in development, a help page without PASSWORD_HELP_URL or SUPPORT_CONTACT says what would be there', async (t) => {
  const bare = await startTestApp();
  try {
    const help = await new Browser(bare.url).get('/help/login');
    t.is(help.status, 200);
    t.regex(help.html, /PASSWORD_HELP_URL/);
    t.regex(help.html, /SUPPORT_CONTACT/);
  } finally {
    await bare.stop();
  }
});
