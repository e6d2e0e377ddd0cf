import test from 'ava';
import { startTestApp } from '../helpers/test-app.ts';

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7 % 256).toString(16).padStart(2, '0').toUpperCase()).join(':');

test('the app association files come from configuration', async (t) => {
  const app = await startTestApp({
    env: {
      ANDROID_APPS: `jp.jmb.app=${FINGERPRINT.toLowerCase()}`,
      IOS_APP_IDS: 'ABCDE12345.jp.jmb.app',
      WEBAUTHN_RELATED_ORIGINS: 'https://www.jmb.example.com',
    },
  });
  try {
    const assetlinks = await fetch(`${app.url}/.well-known/assetlinks.json`);
    t.is(assetlinks.status, 200);
    t.regex(assetlinks.headers.get('content-type') ?? '', /application\/json/);
    t.deepEqual(await assetlinks.json(), [{
      relation: ['delegate_permission/common.handle_all_urls', 'delegate_permission/common.get_login_creds'],
      target: { namespace: 'android_app', package_name: 'jp.jmb.app', sha256_cert_fingerprints: [FINGERPRINT] },
    }]);
    const aasa = await fetch(`${app.url}/.well-known/apple-app-site-association`);
    t.deepEqual(await aasa.json(), { webcredentials: { apps: ['ABCDE12345.jp.jmb.app'] } });
    const related = await fetch(`${app.url}/.well-known/webauthn`);
    t.deepEqual(await related.json(), { origins: ['https://www.jmb.example.com'] });
  } finally {
    await app.stop();
  }
});

test('without configuration the association files are not served', async (t) => {
  const app = await startTestApp();
  try {
    for (const file of ['assetlinks.json', 'apple-app-site-association', 'webauthn']) {
      t.is((await fetch(`${app.url}/.well-known/${file}`)).status, 404, file);
    }
  } finally {
    await app.stop();
  }
});

test('malformed app settings are refused at start-up', async (t) => {
  const error = await t.throwsAsync(startTestApp({
    env: { ANDROID_APPS: 'jp.jmb.app=not-a-fingerprint', IOS_APP_IDS: 'jp.jmb.app', WEBAUTHN_ORIGINS: 'http://evil.example', WEBAUTHN_RP_ID: 'example.org' },
  }));
  const message = error?.message ?? '';
  for (const name of ['ANDROID_APPS', 'IOS_APP_IDS', 'WEBAUTHN_ORIGINS', 'WEBAUTHN_RP_ID']) t.true(message.includes(name), name);
});
