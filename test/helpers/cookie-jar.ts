export type Cookie = { name: string; value: string; path: string };

/**
 * The cookies one browser holds, as the IdP's tests and the benchmark's virtual users need them: kept
 * by name and path, sent on the paths they were set for, dropped when a response expires them.
 * Domains, Secure and SameSite play no part: everything runs against one origin.
 */
export class CookieJar {
  readonly cookies: Cookie[] = [];

  /** The Cookie header for a request to `pathname` (no query). */
  header(pathname: string): string {
    return this.cookies
      .filter(({ path }) => path === '/' || pathname === path || pathname.startsWith(path.endsWith('/') ? path : `${path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** Takes in a response's Set-Cookie lines. */
  store(setCookie: readonly string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attribute = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const path = attribute('path') ?? '/';
      const expires = attribute('expires');
      const index = this.cookies.findIndex((c) => c.name === name && c.path === path);
      if (index >= 0) this.cookies.splice(index, 1);
      const gone = value === '' || attribute('max-age') === '0' || (expires !== undefined && Date.parse(expires) <= Date.now());
      if (!gone) this.cookies.push({ name, value, path });
    }
  }
}
