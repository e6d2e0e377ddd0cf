import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { PASSKEY_LIMIT, SettingsError, type PasskeySettings } from '../src/account/passkey-settings.ts';
import { isAuthError, REGISTRATION_ERRORS } from '../src/auth/auth-error.ts';
import { partsOfDescription } from '../src/auth/user-agent.ts';
import { readJson } from '../src/http/body.ts';
import type { Csrf } from '../src/http/csrf.ts';
import { HttpError } from '../src/http/http-error.ts';
import { localize } from '../src/http/localize.ts';
import { deviceName } from '../src/i18n/device-name.ts';
import type { MessageKey } from '../src/i18n/messages.ts';
import type { Passkey } from '../src/store/port.ts';
import { wayBack, type AccountGuard } from './account-guard.ts';
import type { AccountSession } from './account-session.ts';

/** What Passkey Settings' pages are served with. */
export type PasskeySettingsDeps = {
  guard: AccountGuard;
  settings: PasskeySettings;
  csrf: Csrf;
  rpId: string;
  provider: Provider;
  issuer: string;
};

// "Passkey Settings (Register/Delete)": the list, New registration (JSON, for the page's script),
// the confirmation, Rename and Delete (form posts). Every change passes the account guard first,
// and the use case refuses any change without a fresh SMS verification.

/** "3 Jun 2026, 13:40 JST · Chrome on Windows": when a passkey was last used, and from what, in the page's language. */
function lastUse(ctx: Context, guard: AccountGuard, passkey: Passkey): string {
  const { t } = ctx.state;
  if (!passkey.lastUsedAt) return t('settings.neverUsed');
  const device = deviceName(t, partsOfDescription(passkey.lastUsedFrom));
  return device ? t('settings.usedOn', { time: guard.time(ctx, passkey.lastUsedAt)!, device }) : guard.time(ctx, passkey.lastUsedAt)!;
}

/** The list of the member's passkeys, with "New registration" while there is room; `signal` tells the browser which remain. */
export async function renderSettings(ctx: Context, deps: PasskeySettingsDeps, current: AccountSession, extra: { error?: string; signal?: boolean } = {}): Promise<void> {
  const { guard, settings, rpId } = deps;
  const { t } = ctx.state;
  const passkeys = await settings.list(current.member);
  const message = await guard.takeFlash(current);
  await ctx.render('passkey-settings', {
    title: t('settings.title'),
    wide: true,
    limit: PASSKEY_LIMIT,
    full: passkeys.length >= PASSKEY_LIMIT,
    message,
    error: extra.error,
    rows: passkeys.map((p) => ({
      id: p.id,
      name: p.name,
      created: guard.time(ctx, p.createdAt),
      lastUsed: lastUse(ctx, guard, p),
      kind: t(p.synced ? 'settings.synced' : 'settings.device'),
    })),
    signal: extra.signal ? { rpId, userId: Buffer.from(current.member.id).toString('base64url'), ids: passkeys.map((p) => p.id).join(',') } : undefined,
  });
}

/** POST /account/passkeys/options: creation options for New registration (JSON). */
export async function startRegistration(ctx: Context, { guard, settings }: PasskeySettingsDeps): Promise<void> {
  ctx.state.json = true;
  const current = await guard.verifiedChange(ctx);
  if (!current) return;
  try {
    ctx.body = await settings.startRegistration(current.member, guard.changeScope(current), ctx.ip);
  } catch (error) {
    return settingsJsonError(ctx, error);
  }
}

/** POST /account/passkeys: the new passkey (JSON); answers where the page goes next. */
export async function finishRegistration(ctx: Context, { guard, settings }: PasskeySettingsDeps): Promise<void> {
  ctx.state.json = true;
  const current = await guard.verifiedChange(ctx);
  if (!current) return;
  const response = await readJson(ctx);
  try {
    const passkey = await settings.finishRegistration(current.member, guard.changeScope(current), response, guard.actor(ctx));
    ctx.body = { redirectTo: `/account/passkeys/registered?id=${encodeURIComponent(passkey.id)}` };
  } catch (error) {
    return settingsJsonError(ctx, error);
  }
}

/** GET /account/passkeys/registered: "Passkey registered", with its name ready to change in place. */
export async function showRegistered(ctx: Context, deps: PasskeySettingsDeps): Promise<void> {
  const { guard, settings, csrf } = deps;
  const current = await guard.signedIn(ctx, '/account/passkeys');
  if (!current) return;
  const passkey = await settings.find(current.member, String(ctx.query.id ?? '')).catch(() => undefined);
  if (!passkey) return ctx.redirect('/account/passkeys');
  await ctx.render('passkey-registered', {
    title: ctx.state.t('registered.title'),
    name: passkey.name,
    rename: { action: `/account/passkeys/${encodeURIComponent(passkey.id)}/rename`, csrf: csrf.token(ctx, guard.csrfScope(current)), value: passkey.name },
    back: await wayBack(ctx, deps),
  });
}

/** GET /account/passkeys/:id/rename and …/delete: the form that renames or deletes one passkey. */
export async function showPasskeyChange(ctx: Context, { guard, settings, csrf }: PasskeySettingsDeps, action: 'rename' | 'delete'): Promise<void> {
  const current = await guard.signedIn(ctx, '/account/passkeys');
  if (!current) return;
  if (!(await guard.freshlyVerified(current))) return ctx.redirect('/account/passkeys');
  const passkey = await settings.find(current.member, ctx.params.id!).catch(() => undefined);
  if (!passkey) throw new HttpError(404, 'not_found', 'no such passkey');
  await ctx.render(`passkey-${action}`, { title: ctx.state.t(`${action}.title`), passkey, value: passkey.name, csrf: csrf.token(ctx, guard.csrfScope(current)) });
}

/** POST /account/passkeys/:id/rename: the new name, or the form again with why it was refused. */
export async function renamePasskey(ctx: Context, { guard, settings, csrf }: PasskeySettingsDeps): Promise<void> {
  const current = await guard.verifiedChange(ctx);
  if (!current) return;
  const form = await guard.postedForm(ctx, current);
  try {
    const renamed = await settings.rename(current.member, guard.changeScope(current), ctx.params.id!, form.name ?? '', guard.actor(ctx));
    await guard.flash(current, ctx.state.t('settings.renamed', { name: renamed.name }));
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    if (error.code === 'not_found') throw new HttpError(404, 'not_found', 'no such passkey');
    // The verification ran out between the check above and the change: the SMS step again.
    if (error.code === 'sms_required') return ctx.redirect('/account/passkeys');
    const passkey = await settings.find(current.member, ctx.params.id!);
    localize(ctx, undefined, `/account/passkeys/${encodeURIComponent(passkey.id)}/rename`);
    ctx.status = 400;
    return ctx.render('passkey-rename', {
      title: ctx.state.t('rename.title'), passkey, value: form.name ?? '', error: ctx.state.t('settings.error.invalid_name'),
      csrf: csrf.token(ctx, guard.csrfScope(current)),
    });
  }
  ctx.status = 303;
  ctx.redirect('/account/passkeys');
}

/** POST /account/passkeys/:id/delete. */
export async function deletePasskey(ctx: Context, { guard, settings }: PasskeySettingsDeps): Promise<void> {
  const current = await guard.verifiedChange(ctx);
  if (!current) return;
  await guard.postedForm(ctx, current);
  try {
    const removed = await settings.remove(current.member, guard.changeScope(current), ctx.params.id!, guard.actor(ctx));
    await guard.flash(current, ctx.state.t('settings.deleted', { name: removed.name }));
  } catch (error) {
    if (error instanceof SettingsError && error.code === 'not_found') throw new HttpError(404, 'not_found', 'no such passkey');
    if (error instanceof SettingsError && error.code === 'sms_required') return ctx.redirect('/account/passkeys');
    throw error;
  }
  ctx.status = 303;
  // The list page then tells the browser which passkeys remain (WebAuthn Signal API).
  ctx.redirect('/account/passkeys?signal=1');
}

const SETTINGS_STATUS: Record<SettingsError['code'], number> = { not_found: 404, already_registered: 409, sms_required: 403, limit_reached: 400, invalid_name: 400 };

/** Answers a refused registration step as JSON (4xx with error and description); rethrows anything else. */
export function settingsJsonError(ctx: Context, error: unknown): void {
  if (error instanceof SettingsError) {
    ctx.status = SETTINGS_STATUS[error.code];
    ctx.body = { error: error.code, error_description: ctx.state.t(`settings.error.${error.code}` as MessageKey, { limit: PASSKEY_LIMIT }) };
    return;
  }
  if (isAuthError(error, REGISTRATION_ERRORS)) {
    ctx.status = 400;
    ctx.body = { error: error.code, error_description: ctx.state.t(`settings.error.${error.code}` as MessageKey) };
    return;
  }
  throw error;
}
