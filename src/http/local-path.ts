/**
 * `candidate` when it is a path on the IdP's own origin (`/` followed by anything but `/` or `\`),
 * undefined otherwise: the one check for every link or redirect the IdP builds from what a request
 * said (its path, a query parameter). A browser reads `//host/x` and `/\host/x` as another origin
 * (it treats `\` as `/` in http URLs), and drops tabs and line breaks anywhere in a URL before
 * reading it, so `/<tab>/host` is `//host`; a control character or space is refused outright, since
 * no page of the IdP has one in its path. Percent-encoded slashes (`/%2F%2Fhost`) stay a path:
 * browsers never decode them when resolving a link.
 */
export function localPath(candidate: unknown): string | undefined {
  if (typeof candidate !== 'string' || candidate[0] !== '/') return undefined;
  if (candidate[1] === '/' || candidate[1] === '\\') return undefined;
  return /[\u0000-\u0020\u007f]/.test(candidate) ? undefined : candidate;
}
