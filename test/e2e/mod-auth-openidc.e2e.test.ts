import test from 'ava';
import * as jose from 'jose';
import type { Page } from 'playwright-core';
import { createLogger } from '../../src/log.ts';
import {
  PAGE_VALUES, apacheMissing, loggedOutPageOf, protectedPageOf, redirectUriOf, startApache, type ApacheSite, type RunningApache,
} from '../helpers/apache.ts';
import { describePage, launchChromium, newPage } from '../helpers/chromium.ts';
import { freePort } from '../helpers/ports.ts';
import { createMember, startTestApp } from '../helpers/test-app.ts';

/**
 * A relying party nobody here wrote: Apache httpd with Debian's mod_auth_openidc, two sites, driven in
 * Chromium through a protected page. Site A names ES256 for its ID tokens, site B names no algorithm
 * (RS256) and registers a back-channel logout URI.
 */
const missing = apacheMissing();
const required = !!process.env.TEST_REQUIRE_APACHE;
const title = 'Apache mod_auth_openidc: password log-in, the claims the page sees, single sign-on, a refresh, RP-initiated and back-channel logout';

if (missing && required) {
  test(title, (t) => t.fail(`TEST_REQUIRE_APACHE is set but ${missing}`));
} else if (missing) {
  test.skip(`${title}: skipped, ${missing}`, () => {});
} else {
  test.serial(title, async (t) => {
    t.timeout(90_000);
    const siteA: ApacheSite = { port: await freePort(), clientId: 'apache-a', clientSecret: 'apache-a-secret-for-tests-0123456789', scope: 'openid profile jmb' };
    const siteB: ApacheSite = { port: await freePort(), clientId: 'apache-b', clientSecret: 'apache-b-secret-for-tests-0123456789', scope: 'openid profile' };
    const lines: string[] = [];
    const app = await startTestApp({
      logger: createLogger('info', (line) => lines.push(line)),
      clients: [
        {
          client_id: siteA.clientId,
          client_secret: siteA.clientSecret,
          redirect_uris: [redirectUriOf(siteA)],
          post_logout_redirect_uris: [loggedOutPageOf(siteA)],
          grant_types: ['authorization_code', 'refresh_token'],
          id_token_signed_response_alg: 'ES256',
        },
        {
          client_id: siteB.clientId,
          client_secret: siteB.clientSecret,
          redirect_uris: [redirectUriOf(siteB)],
          backchannel_logout_uri: `${redirectUriOf(siteB)}?logout=backchannel`,
          backchannel_logout_session_required: true,
          grant_types: ['authorization_code', 'refresh_token'],
        },
      ],
    });
    let apache: RunningApache | undefined;
    const browser = await launchChromium();
    t.teardown(async () => {
      await browser.close();
      await apache?.stop();
      await app.stop();
    });
    apache = await startApache(app.url, [siteA, siteB]);
    const member = await createMember(app.store, { name: 'Hanako Suzuki' });
    const { page } = await newPage(browser, { locale: 'en-US' });
    const userinfoStatus = async (token: string) => (await fetch(`${app.url}/me`, { headers: { authorization: `Bearer ${token}` } })).status;

    try {
      await page.goto(protectedPageOf(siteA));
      t.regex(page.url(), new RegExp(`^${app.url}/interaction/`), 'the protected page sends the browser to the IdP\'s log-in page');
      await page.getByLabel('JMB membership number', { exact: true }).fill(member.number);
      await page.getByLabel('Password', { exact: true }).fill(member.password);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await page.waitForURL(protectedPageOf(siteA));
      const a = await pageValues(page);
      t.like(a, { sub: member.id, name: 'Hanako Suzuki', 'member-number': member.number, acr: 'urn:jmb:loa:1', amr: 'pwd', iss: app.url });
      t.true(a['remote-user']!.startsWith(member.id), 'REMOTE_USER is the member\'s sub');
      t.is(jose.decodeProtectedHeader(a['id-token']!).alg, 'ES256', 'site A asked for ES256');
      t.is(await userinfoStatus(a['access-token']!), 200);

      await page.goto(protectedPageOf(siteB));
      await page.waitForURL(protectedPageOf(siteB));
      const b = await pageValues(page);
      t.like(b, { sub: member.id, name: 'Hanako Suzuki', 'member-number': '(none)', acr: 'urn:jmb:loa:1' }, 'single sign-on; site B asked for no jmb scope ("(none)" is how the page prints an unset variable)');
      t.is(jose.decodeProtectedHeader(b['id-token']!).alg, 'RS256', 'site B named no algorithm: RS256');

      await page.goto(`${redirectUriOf(siteA)}?refresh=${encodeURIComponent(protectedPageOf(siteA))}&access_token=${a['access-token']}`);
      await page.waitForURL(protectedPageOf(siteA));
      const refreshed = await pageValues(page);
      t.not(refreshed['access-token'], a['access-token'], 'mod_auth_openidc refreshed the access token');
      t.is(refreshed.sub, member.id);
      t.is(await userinfoStatus(refreshed['access-token']!), 200);

      // mod_auth_openidc sends its ID token and registered post-logout page: the IdP logs out without asking.
      let asked = 0;
      page.on('response', (r) => { if (new URL(r.url()).pathname === '/session/end' && r.url().startsWith(app.url) && r.status() === 200) asked += 1; });
      await page.getByRole('link', { name: 'Log out', exact: true }).click();
      await page.waitForURL(loggedOutPageOf(siteA));
      t.is(asked, 0, 'no "Log out of JMB?" question');
      t.is(await userinfoStatus(refreshed['access-token']!), 401, 'the log-out ended the grant');
      const events = lines.map((line) => JSON.parse(line) as { msg: string; client?: string; method?: string; path?: string; status?: number });
      t.true(events.some((e) => e.msg === 'request' && e.method === 'POST' && e.path === '/token/revocation' && e.status === 200), 'mod_auth_openidc revoked its tokens');
      t.true(events.some((e) => e.msg === 'oidc backchannel.success' && e.client === siteB.clientId), 'the IdP told site B over the back channel');

      await page.goto(protectedPageOf(siteB));
      t.regex(page.url(), new RegExp(`^${app.url}/interaction/`), 'site B\'s session ended: it sends the browser to log in again');
      await page.goto(protectedPageOf(siteA));
      t.regex(page.url(), new RegExp(`^${app.url}/interaction/`), 'so did site A\'s');
    } catch (error) {
      t.log(`the browser ${await describePage(page)}`);
      t.log(apache.errorLog());
      throw error;
    }
    const errors = apache.errorLog().split('\n').filter((line) => /:error\]/.test(line));
    t.deepEqual(errors, [], 'no errors in Apache\'s log');
  });
}

/** The values the protected page prints, by element id. */
async function pageValues(page: Page): Promise<Partial<Record<keyof typeof PAGE_VALUES, string>>> {
  const values: Partial<Record<keyof typeof PAGE_VALUES, string>> = {};
  for (const id of Object.keys(PAGE_VALUES) as (keyof typeof PAGE_VALUES)[]) values[id] = (await page.locator(`#${id}`).textContent())?.trim() ?? '';
  return values;
}
