/**
 * Apache httpd with mod_auth_openidc as a relying party of the test IdP: Debian's `apache2` and
 * `libapache2-mod-auth-openidc` packages (.ci/run installs them), started in the foreground with a
 * generated configuration whose every path is under a temporary folder, so it runs as any user.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const APACHE_BIN = '/usr/sbin/apache2';
export const APACHE_MODULES = '/usr/lib/apache2/modules';

/** Why Apache with mod_auth_openidc cannot run here, or undefined when it can. */
export function apacheMissing(): string | undefined {
  const missing = [APACHE_BIN, path.join(APACHE_MODULES, 'mod_auth_openidc.so')].filter((file) => !existsSync(file));
  if (missing.length === 0) return undefined;
  return `Apache httpd with mod_auth_openidc is not installed (missing ${missing.join(', ')}): ` +
    'apt-get install -y apache2 libapache2-mod-auth-openidc (.ci/run installs them)';
}

/** One name-based site: its own port, client registration and session cookie. */
export type ApacheSite = {
  port: number;
  clientId: string;
  clientSecret: string;
  scope: string;
};

/** The redirect URI mod_auth_openidc answers on, inside the protected location as it requires. */
export const redirectUriOf = (site: ApacheSite) => `http://localhost:${site.port}/protected/redirect_uri`;
/** The protected page, which shows what mod_auth_openidc hands the application. */
export const protectedPageOf = (site: ApacheSite) => `http://localhost:${site.port}/protected/`;
/** The page after a local log-out, outside the protected location. */
export const loggedOutPageOf = (site: ApacheSite) => `http://localhost:${site.port}/logged-out.html`;

/** The claims and tokens the protected page prints, one element per value, by id. */
export const PAGE_VALUES = {
  sub: 'OIDC_CLAIM_sub',
  name: 'OIDC_CLAIM_name',
  'member-number': 'OIDC_CLAIM_jmb_member_number',
  acr: 'OIDC_CLAIM_acr',
  amr: 'OIDC_CLAIM_amr',
  iss: 'OIDC_CLAIM_iss',
  'access-token': 'OIDC_access_token',
  'id-token': 'OIDC_id_token',
  'remote-user': 'REMOTE_USER',
} as const;

export type RunningApache = {
  /** The error log so far. */
  errorLog(): string;
  stop(): Promise<void>;
};

/** Starts Apache for `sites` against the IdP at `issuer` and resolves once every site answers. */
export async function startApache(issuer: string, sites: ApacheSite[]): Promise<RunningApache> {
  const dir = mkdtempSync(path.join(tmpdir(), 'jmb-apache-'));
  // Run as root (CI), Apache serves as `nobody`, which must read the pages.
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, 'run'));
  for (const site of sites) writeSite(dir, site);
  const conf = path.join(dir, 'httpd.conf');
  writeFileSync(conf, configuration(dir, issuer, sites));
  const errorLog = path.join(dir, 'error.log');

  // -X: one process in the foreground, stopped with the test.
  const apache: ChildProcess = spawn(APACHE_BIN, ['-X', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  apache.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  apache.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  const exited = new Promise<void>((resolve) => apache.once('exit', () => resolve()));
  const readLog = () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  const stop = async () => {
    if (apache.exitCode === null) {
      apache.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      apache.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const site of sites) await waitUntilAnswering(`http://127.0.0.1:${site.port}/logged-out.html`, () => apache.exitCode !== null);
  } catch (error) {
    const log = `${output}${readLog()}`;
    await stop();
    throw new Error(`Apache did not start: ${(error as Error).message}\n${log}`);
  }
  return { errorLog: readLog, stop };
}

async function waitUntilAnswering(url: string, gone: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (gone()) throw new Error('the process exited');
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`no answer at ${url}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function writeSite(dir: string, site: ApacheSite): void {
  const root = path.join(dir, `site-${site.port}`);
  mkdirSync(path.join(root, 'protected'), { recursive: true });
  const values = Object.entries(PAGE_VALUES).map(([id, variable]) => `<dt>${id}</dt><dd id="${id}"><!--#echo var="${variable}" encoding="entity" --></dd>`);
  const logout = `/protected/redirect_uri?logout=${encodeURIComponent(loggedOutPageOf(site))}`;
  writeFileSync(path.join(root, 'protected', 'index.shtml'), [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Protected</title></head><body>',
    `<h1>Protected page of ${site.clientId}</h1>`,
    `<dl>${values.join('')}</dl>`,
    `<p><a href="${logout}">Log out</a></p>`,
    '</body></html>',
  ].join('\n'));
  writeFileSync(path.join(root, 'logged-out.html'), '<!doctype html><html lang="en"><head><title>Logged out</title></head><body><h1>Logged out</h1></body></html>');
}

function configuration(dir: string, issuer: string, sites: ApacheSite[]): string {
  const module = (name: string, file: string) => `LoadModule ${name}_module ${path.join(APACHE_MODULES, file)}`;
  const runningAsRoot = process.getuid?.() === 0;
  return [
    `ServerRoot "${dir}"`,
    'ServerName localhost',
    `PidFile "${path.join(dir, 'httpd.pid')}"`,
    `DefaultRuntimeDir "${path.join(dir, 'run')}"`,
    `ErrorLog "${path.join(dir, 'error.log')}"`,
    'LogLevel warn auth_openidc:info',
    // Apache refuses to serve as root; an unprivileged user keeps its own id.
    ...(runningAsRoot ? ['User nobody', 'Group nogroup'] : []),
    module('mpm_event', 'mod_mpm_event.so'),
    module('authn_core', 'mod_authn_core.so'),
    module('authz_core', 'mod_authz_core.so'),
    module('authz_user', 'mod_authz_user.so'),
    module('mime', 'mod_mime.so'),
    module('dir', 'mod_dir.so'),
    module('include', 'mod_include.so'),
    module('auth_openidc', 'mod_auth_openidc.so'),
    // No system mime.types: the only type served is the pages' own.
    `TypesConfig "/dev/null"`,
    'AddType text/html .shtml .html',
    'AddOutputFilter INCLUDES .shtml',
    'DirectoryIndex index.shtml',
    ...sites.flatMap((site) => [
      `Listen 127.0.0.1:${site.port}`,
      `<VirtualHost 127.0.0.1:${site.port}>`,
      '  ServerName localhost',
      `  DocumentRoot "${path.join(dir, `site-${site.port}`)}"`,
      `  OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration`,
      `  OIDCClientID ${site.clientId}`,
      `  OIDCClientSecret ${site.clientSecret}`,
      `  OIDCRedirectURI ${redirectUriOf(site)}`,
      `  OIDCCryptoPassphrase ${randomBytes(24).toString('base64url')}`,
      `  OIDCScope "${site.scope}"`,
      '  OIDCPKCEMethod S256',
      // The ID token's claims and the token itself, so the page can tell how it was signed.
      '  OIDCPassIDTokenAs claims serialized',
      // Both sites are on localhost, where cookies ignore the port: each keeps its own session and
      // state cookies, or one would try to decrypt the other's.
      `  OIDCCookie site_${site.port}_session`,
      `  OIDCStateCookiePrefix site_${site.port}_state_`,
      // SameSite=Lax instead of the default SameSite=None, which browsers refuse without https.
      '  OIDCCookieSameSite On',
      `  <Directory "${path.join(dir, `site-${site.port}`)}">`,
      '    Options +Includes',
      '    Require all granted',
      '  </Directory>',
      '  <Location /protected>',
      '    AuthType openid-connect',
      '    Require valid-user',
      '  </Location>',
      '</VirtualHost>',
    ]),
    '',
  ].join('\n');
}
