import test from 'ava';
import type { Browser } from 'playwright-core';
import type { DemoSite } from '../../demo/site.ts';
import { launchChromium } from './chromium.ts';
import { startDemoSiteWithIdp } from './demo-site.ts';
import { startTestApp, type TestApp } from './test-app.ts';

/**
 * One Chromium and one IdP shared by the tests of an end-to-end file: started before the first test,
 * stopped after the last. Read `app` and `browser` inside tests (they are set once started). `options`
 * go to the IdP (settings, clients).
 */
export function sharedBrowserAndApp(options: Parameters<typeof startTestApp>[0] = {}): { readonly app: TestApp; readonly browser: Browser } {
  const shared = {} as { app: TestApp; browser: Browser };
  test.before(async () => {
    shared.browser = await launchChromium();
    shared.app = await startTestApp(options);
  });
  test.after.always(async () => {
    await shared.browser?.close();
    await shared.app?.stop();
  });
  return shared;
}

/**
 * One Chromium, and the demo website with the IdP it signs in with, shared by the tests of an
 * end-to-end file like {@link sharedBrowserAndApp}. `env` goes to the IdP.
 */
export function sharedBrowserAndDemoSite(env: Record<string, string> = {}): { readonly app: TestApp; readonly site: DemoSite; readonly browser: Browser } {
  const shared = {} as { app: TestApp; site: DemoSite; browser: Browser };
  test.before(async () => {
    shared.browser = await launchChromium();
    Object.assign(shared, await startDemoSiteWithIdp(env));
  });
  test.after.always(async () => {
    await shared.browser?.close();
    await shared.site?.close();
    await shared.app?.stop();
  });
  return shared;
}
