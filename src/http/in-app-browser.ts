// The web views inside social and messaging apps, which cannot use passkeys: Facebook, Instagram,
// LINE, WeChat, KakaoTalk, X/Twitter, TikTok, Snapchat, Pinterest, LinkedIn, and Android WebViews.
const IN_APP = /FBAN|FBAV|FB_IAB|Instagram|\bLine\/|MicroMessenger|KAKAOTALK|Twitter|TikTok|musical_ly|BytedanceWebview|Snapchat|Pinterest|LinkedInApp|; wv\)/i;

/** True for a user agent of an in-app browser. */
export function isInAppBrowser(userAgent: string | undefined): boolean {
  return !!userAgent && IN_APP.test(userAgent);
}
