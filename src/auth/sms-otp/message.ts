import type { Locale } from '../../i18n/messages.ts';

/**
 * The verification text in the member's language. It names the programme, says never to share the
 * code, and ends with the origin-bound line `@host #code` so phones can offer the code to the right
 * site only (WebOTP / origin-bound one-time codes).
 */
export function verificationMessage(locale: Locale, code: string, issuerHost: string, minutes: number): string {
  const text = locale === 'ja'
    ? `【JMB】認証コード：${code}\n有効期限は${minutes}分です。このコードは誰にも教えないでください（JMBがお尋ねすることはありません）。`
    : `JMB verification code: ${code}\nIt expires in ${minutes} minutes. Never share this code with anyone; JMB will never ask for it.`;
  return `${text}\n\n@${issuerHost} #${code}`;
}
