import type { Translate } from './messages.ts';

/**
 * A browser and system in the member's language: "Chrome on Windows", 「Windows の Chrome」. The
 * product names themselves are not translated. Undefined when nothing is known of the device.
 */
export function deviceName(t: Translate, parts: { browser?: string; system?: string } | undefined): string | undefined {
  if (!parts) return undefined;
  const { browser, system } = parts;
  if (browser && system) return t('device.on', { browser, system });
  return browser ?? system ?? t('sessions.unknownDevice');
}
