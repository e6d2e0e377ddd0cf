/** Every member-facing text, in English and Japanese. The English wording follows the programme's own. */
const en = {
  'brand': 'JMB',
  'brand.long': 'JMB Mileage Bank',
  'lang.switch': 'Language',
  'lang.en': 'English',
  'lang.ja': '日本語',
  'login.title': 'Log in',
  'login.heading': 'Log in to JMB',
  'login.to': 'to continue to {client}',
  'login.number': 'JMB membership number',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.cancel': 'Cancel',
  'login.or': 'or log in with your membership number and password',
  'login.invalid': 'The membership number or password is incorrect.',
  'login.limited': 'Too many unsuccessful attempts. Please try again after {time}.',
  'login.missing': 'Enter your membership number and password.',
  'login.cancelled': 'The member cancelled the log-in.',
  'continue.title': 'Continue',
  'continue.heading': 'Continue to {client}?',
  'continue.body': 'You are logged in as {name}.',
  'continue.submit': 'Continue',
  'continue.other': 'Log in as someone else',
  'logout.title': 'Log out',
  'logout.heading': 'Log out of JMB?',
  'logout.body': 'You will be logged out of JMB on this device.',
  'logout.submit': 'Log out',
  'logout.stay': 'Stay logged in',
  'logout.done.title': 'Logged out',
  'logout.done.heading': 'You have been logged out.',
  'error.title': 'Something went wrong',
  'error.heading': 'We could not complete your request',
  'error.body': 'Please go back to the website or app and try again.',
  'error.code': 'Error code: {code}',
  'error.expired.title': 'Sign-in expired',
  'error.expired.heading': 'This sign-in has expired. Please start again.',
  'error.expired.body': 'Go back to the website or app you came from and log in again.',
  'error.notfound.heading': 'Page not found',
  'error.forbidden.heading': 'This request was refused for your security. Please go back and try again.',
} as const;

export type MessageKey = keyof typeof en;

const ja: Record<MessageKey, string> = {
  'brand': 'JMB',
  'brand.long': 'JALマイレージバンク',
  'lang.switch': '言語',
  'lang.en': 'English',
  'lang.ja': '日本語',
  'login.title': 'ログイン',
  'login.heading': 'JMBにログイン',
  'login.to': '{client} を続けるには',
  'login.number': 'JMBお得意様番号',
  'login.password': 'パスワード',
  'login.submit': 'ログイン',
  'login.cancel': 'キャンセル',
  'login.or': 'またはお得意様番号とパスワードでログイン',
  'login.invalid': 'お得意様番号またはパスワードが正しくありません。',
  'login.limited': 'ログインの失敗が続いたため、一時的にご利用いただけません。{time}以降にもう一度お試しください。',
  'login.missing': 'お得意様番号とパスワードを入力してください。',
  'login.cancelled': 'ログインはキャンセルされました。',
  'continue.title': '続行',
  'continue.heading': '{client} に進みますか？',
  'continue.body': '{name} 様としてログインしています。',
  'continue.submit': '続ける',
  'continue.other': '別の会員でログイン',
  'logout.title': 'ログアウト',
  'logout.heading': 'JMBからログアウトしますか？',
  'logout.body': 'この端末でJMBからログアウトします。',
  'logout.submit': 'ログアウト',
  'logout.stay': 'ログインしたままにする',
  'logout.done.title': 'ログアウトしました',
  'logout.done.heading': 'ログアウトしました。',
  'error.title': 'エラー',
  'error.heading': 'リクエストを完了できませんでした',
  'error.body': 'ウェブサイトまたはアプリに戻り、もう一度お試しください。',
  'error.code': 'エラーコード：{code}',
  'error.expired.title': 'ログインの有効期限切れ',
  'error.expired.heading': 'このログインは有効期限が切れました。最初からやり直してください。',
  'error.expired.body': 'ご利用のウェブサイトまたはアプリに戻り、もう一度ログインしてください。',
  'error.notfound.heading': 'ページが見つかりません',
  'error.forbidden.heading': 'セキュリティ保護のため、このリクエストはお受けできませんでした。前の画面に戻り、もう一度お試しください。',
};

export const locales = ['ja', 'en'] as const;
export type Locale = (typeof locales)[number];
export const defaultLocale: Locale = 'ja';

const catalogues: Record<Locale, Record<MessageKey, string>> = { en, ja };

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

/** A translator for one locale; `{name}` placeholders are filled from `params` (escaping is the view's job). */
export function translator(locale: Locale): Translate {
  const catalogue = catalogues[locale];
  return (key, params) => catalogue[key].replace(/\{(\w+)\}/g, (whole, name: string) => String(params?.[name] ?? whole));
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (locales as readonly string[]).includes(value);
}
