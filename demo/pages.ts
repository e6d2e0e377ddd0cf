import type { SignedIn } from './sessions.ts';

/** Messages the home page can show after a redirect; the query names one, the text never comes from it. */
export const notices = {
  cancelled: { role: 'status', text: 'Log-in was cancelled. You can log in again whenever you like.' },
  failed: { role: 'alert', text: 'Log-in could not be completed. Please try again.' },
  expired: { role: 'alert', text: 'That log-in took too long or was started in another window. Please try again.' },
  unavailable: { role: 'alert', text: 'The JMB log-in service cannot be reached at the moment. Please try again shortly.' },
  'logged-out': { role: 'status', text: 'You have logged out of the JMB website.' },
} as const;

export type Notice = keyof typeof notices;

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The home page of a visitor who is not logged in. */
export function signedOutPage(options: { issuer: string | undefined; notice: Notice | undefined }): string {
  return layout('JMB website (demo)', `
<h1>JMB website (demo)</h1>
${noticeHtml(options.notice)}
<p>This page stands in for the JMB website. Members log in through the JMB IdP${options.issuer ? ` at <a href="${escapeHtml(options.issuer)}">${escapeHtml(options.issuer)}</a>` : ''}.</p>
<p>You are not logged in.</p>
<form method="post" action="/login"><button type="submit">Log in</button></form>`);
}

/** The home page of a logged-in member: who they are and how they proved it. */
export function signedInPage(options: { session: SignedIn; issuer: string; clientId: string }): string {
  const { session } = options;
  const row = (label: string, value: string | undefined) => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value ?? 'not given')}</dd>`;
  return layout('JMB website (demo)', `
<h1>JMB website (demo)</h1>
<p>Welcome, ${escapeHtml(session.name ?? 'member')}.</p>
<dl>
${row('Membership number', session.memberNumber)}
${row('Assurance level (acr)', session.acr)}
${row('Authentication methods (amr)', session.amr.length ? session.amr.join(', ') : undefined)}
${row('Logged in at (auth_time)', session.authTime === undefined ? undefined : readableTime(session.authTime))}
</dl>
<p><a href="${escapeHtml(`${options.issuer}/account?client_id=${options.clientId}`)}">Manage your account</a></p>
<form method="post" action="/logout"><button type="submit">Log out</button></form>`);
}

/** A short page for anything that is not the home page: not found, refused, failed. */
export function messagePage(title: string, text: string): string {
  return layout(title, `
<h1>JMB website (demo)</h1>
<p role="alert">${escapeHtml(text)}</p>
<p><a href="/">Back to the home page</a></p>`);
}

/** Seconds since the epoch as a UTC date and time, e.g. "2025-04-01 09:30:00 UTC". */
export function readableTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function noticeHtml(notice: Notice | undefined): string {
  if (!notice) return '';
  const { role, text } = notices[notice];
  return `<p role="${role}">${escapeHtml(text)}</p>`;
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
</head>
<body>${body}
</body>
</html>
`;
}
