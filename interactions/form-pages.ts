/**
 * The page that shows the form posted to `path` (a request path, unchecked): where a refused post
 * leads back to, and what its page's language switch reloads. Undefined for a path no form posts to.
 */
export function formPageOf(path: string): string | undefined {
  const signIn = /^\/interaction\/([\w-]+)(\/offer\/sms)?\//.exec(path);
  if (signIn) return `/interaction/${signIn[1]}${signIn[2] ?? ''}`;
  // Rename and Delete each post to the address of their own page.
  if (/^\/account\/passkeys\/[\w-]+\/(rename|delete)$/.test(path)) return path;
  if (path.startsWith('/account/sms/')) return '/account/passkeys';
  if (path.startsWith('/account/')) return '/account';
  return undefined;
}
