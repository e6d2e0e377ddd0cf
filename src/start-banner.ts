import type { Members } from './store/port.ts';

/** The members tool's command that adds a first member, with a password of the person's own choosing. */
export const ADD_FIRST_MEMBER = "npm run members -- add --number 300000001 --password 'choose-a-password' --phone +819012345678 --country JP --name 'Taro Yamada'";

/** The lines for a person once the IdP listens: the address to open and, while there is no member yet, how to add one. */
export function startBanner(options: { issuer: string; anyMember: boolean }): string {
  const lines = [`JMB IdP is listening: open ${options.issuer} in a browser.`];
  if (!options.anyMember) lines.push('No member exists yet. Add one (with the same DATA_DIR / DATABASE_URL), choosing your own password:', `  ${ADD_FIRST_MEMBER}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Writes `startBanner` to `out` when `out` is a terminal, a person reading it; otherwise writes
 * nothing, as the JSON log must be all a log collector reads. A member store that cannot answer
 * counts as one with members.
 */
export async function printStartBanner(out: { isTTY?: boolean; write(text: string): unknown }, issuer: string, members: Pick<Members, 'list'>): Promise<void> {
  if (!out.isTTY) return;
  const anyMember = await members.list({ limit: 1 }).then((found) => found.length > 0, () => true);
  out.write(startBanner({ issuer, anyMember }));
}
