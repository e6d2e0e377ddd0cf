import test from 'ava';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Browser } from '../helpers/browser.ts';
import { passkeyLogIn, passwordLogIn } from '../helpers/log-in.ts';
import { RelyingParty } from '../helpers/relying-party.ts';
import { enrolSoftPasskey } from '../helpers/soft-authenticator.ts';
import { createMember, startTestApp } from '../helpers/test-app.ts';

const root = path.resolve(import.meta.dirname, '../..');

function backupTo(databaseFile: string, target: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['src/cli/backup.ts', '--to', target], {
      cwd: root,
      env: { PATH: process.env.PATH, DATABASE_URL: `sqlite:${databaseFile}` },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a backup taken while the IdP serves log-ins restores into a fresh IdP where its tokens and passkeys still work', async (t) => {
  const app = await startTestApp();
  t.teardown(() => app.stop());
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-backup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const member = await createMember(app.store);
  const passkey = await enrolSoftPasskey(app.store, member.id, 'localhost');
  const rp = await RelyingParty.website(app);
  const flow = await rp.start();
  const tokens = await rp.redeem(await passkeyLogIn(new Browser(app.url), flow.url, passkey), flow);

  // Log-ins keep coming while the backup runs.
  let loading = true;
  let served = 0;
  const load = (async () => {
    while (loading) {
      const next = await rp.start();
      await rp.redeem(await passwordLogIn(new Browser(app.url), next.url, member.number, member.password), next);
      served++;
    }
  })();
  while (served < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  const target = path.join(dir, 'backup.db');
  const result = await backupTo(path.join(app.dir, 'idp.db'), target);
  const servedDuringBackup = served;
  loading = false;
  await load;
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, new RegExp(`^wrote ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: [\\d,]+ bytes \\([\\d,]+ pages\\), schema version \\d+, 1 members, 1 passkeys, \\d+ documents, \\d+ audit events; quick_check ok`));
  t.true(servedDuringBackup >= 2);
  t.false(existsSync(`${target}.partial`));
  t.is((await backupTo(path.join(app.dir, 'idp.db'), target)).code, 1, 'an existing file is never overwritten');

  // Restore: a fresh IdP (its own keys and cookies) started on a copy of the backup.
  const restoredDir = mkdtempSync(path.join(tmpdir(), 'jmb-restored-'));
  t.teardown(() => rmSync(restoredDir, { recursive: true, force: true }));
  copyFileSync(target, path.join(restoredDir, 'jmb-idp.db'));
  const restored = await startTestApp({ env: { DATABASE_URL: `sqlite:${path.join(restoredDir, 'jmb-idp.db')}` } });
  t.teardown(() => restored.stop());
  const me = await fetch(`${restored.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.is(me.status, 200, 'an access token issued before the backup is still good');
  t.is((await me.json()).sub, member.id);
  const restoredRp = await RelyingParty.website(restored);
  const refreshed = await fetch(`${restored.url}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('website:website-secret-for-tests-only-0123456789').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }).toString(),
  });
  t.is(refreshed.status, 200, 'so is its refresh token');
  const again = await restoredRp.start();
  const claims = (await restoredRp.redeem(await passkeyLogIn(new Browser(restored.url), again.url, passkey), again)).claims()!;
  t.is(claims.sub, member.id, 'the passkey logs in on the restored IdP');
  t.is(claims.acr, 'phr');
});
