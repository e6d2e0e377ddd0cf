import Router from '@koa/router';
import type { Context } from 'koa';
import type { Config } from '../config/load.ts';

/**
 * App association files, served from configuration: Android Digital Asset Links (so the apps may use
 * the IdP's passkeys), Apple's webcredentials, and WebAuthn related origins. Each answers 404 when
 * nothing is configured for it.
 */
export function wellKnownRouter(config: Pick<Config, 'apps' | 'webauthn'>): Router {
  const router = new Router();
  const json = (body: unknown) => (ctx: Context) => {
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.type = 'application/json';
    ctx.body = body;
  };
  const { android, ios } = config.apps;
  if (android.length) {
    router.get('/.well-known/assetlinks.json', json(android.map(({ packageName, fingerprint }) => ({
      relation: ['delegate_permission/common.handle_all_urls', 'delegate_permission/common.get_login_creds'],
      target: { namespace: 'android_app', package_name: packageName, sha256_cert_fingerprints: [fingerprint] },
    }))));
  }
  if (ios.length) router.get('/.well-known/apple-app-site-association', json({ webcredentials: { apps: ios } }));
  if (config.webauthn.relatedOrigins.length) router.get('/.well-known/webauthn', json({ origins: config.webauthn.relatedOrigins }));
  return router;
}
