const BROWSERS: [RegExp, string][] = [
  [/EdgA?\//, 'Edge'],
  [/SamsungBrowser\//, 'Samsung Internet'],
  [/OPR\//, 'Opera'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/CriOS\/|Chrome\//, 'Chrome'],
  [/Safari\//, 'Safari'],
];
const SYSTEMS: [RegExp, string][] = [
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Android/, 'Android'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Windows/, 'Windows'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
];
const UNKNOWN = 'Unknown browser';

/** The browser and system a user agent names, each a product name that reads the same in every language. */
export type DeviceParts = { browser?: string; system?: string };

/** The browser and system of a User-Agent string; undefined without one. */
export function deviceParts(userAgent: string | undefined): DeviceParts | undefined {
  if (!userAgent) return undefined;
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  return { ...(browser && { browser }), ...(system && { system }) };
}

/**
 * "Chrome on Android", "Safari on iOS": a few words a member recognises, never the raw string. This
 * is the stored form (a passkey's last use, the desk's listings); pages show it in the member's
 * language through {@link partsOfDescription}.
 */
export function describeUserAgent(userAgent: string | undefined): string | undefined {
  const parts = deviceParts(userAgent);
  if (!parts) return undefined;
  if (parts.browser && parts.system) return `${parts.browser} on ${parts.system}`;
  return parts.browser ?? parts.system ?? UNKNOWN;
}

/** The browser and system a description from {@link describeUserAgent} names (read back for display). */
export function partsOfDescription(description: string | undefined): DeviceParts | undefined {
  if (!description) return undefined;
  if (description === UNKNOWN) return {};
  const [browser, system] = description.split(' on ');
  if (system !== undefined) return { browser, system };
  return SYSTEMS.some(([, name]) => name === description) ? { system: description } : { browser: description };
}
