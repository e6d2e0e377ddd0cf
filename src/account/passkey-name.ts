import { deviceParts } from '../auth/user-agent.ts';
import { deviceName } from '../i18n/device-name.ts';
import type { Translate } from '../i18n/messages.ts';

/**
 * What a new passkey is called when its provider is not known from its AAGUID: the browser and
 * system that created it ("Chrome on Windows", 「Windows の Chrome」), in the member's language at the
 * time (the member may rename it). The generic "Passkey" only when the browser says nothing of itself.
 */
export function creatorName(t: Translate, userAgent: string | undefined): string {
  const parts = deviceParts(userAgent);
  if (parts?.browser && parts.system) return deviceName(t, parts)!;
  const known = parts?.browser ?? parts?.system;
  return known ? t('settings.nameOn', { device: known }) : t('settings.defaultName');
}

/** `name`, or where another of the member's passkeys already has it, the name numbered: "Chrome on Windows (2)". */
export function distinctName(t: Translate, name: string, taken: readonly string[]): string {
  const names = new Set(taken);
  if (!names.has(name)) return name;
  for (let number = 2; ; number += 1) {
    const numbered = t('settings.nameNumbered', { name, number });
    if (!names.has(numbered)) return numbered;
  }
}
