import { createDemoSite, type DemoSite } from '../../demo/site.ts';
import { demoClients } from '../../src/config/demo-clients.ts';
import { createLogger } from '../../src/log.ts';
import { startTestApp, type TestApp } from './test-app.ts';

/**
 * The demo website and the IdP it signs in with. The site takes a free port first; the IdP is then
 * started with the website client registered for that port. `env` goes to the IdP.
 */
export async function startDemoSiteWithIdp(env: Record<string, string> = {}): Promise<{ site: DemoSite; app: TestApp }> {
  const { client_id: clientId, client_secret: clientSecret } = demoClients().find((c) => c.client_id === 'jmb-website')!;
  let issuer!: (url: string) => void;
  const site = await createDemoSite({
    issuer: new Promise<string>((resolve) => { issuer = resolve; }),
    clientId,
    clientSecret: String(clientSecret),
    port: 0,
    logger: createLogger('silent'),
  });
  const app = await startTestApp({
    clients: [demoClients(site.url).find((c) => c.client_id === clientId)!],
    env,
  });
  issuer(app.url);
  return { site, app };
}
