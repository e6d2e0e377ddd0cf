import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Passkey, Store } from '../../src/store/port.ts';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

// Authenticator data flags (WebAuthn §6.1).
export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

export type Assertion = {
  /** Change the origin written into clientDataJSON. */
  origin?: string;
  /** Sign for another RP ID than the credential's. */
  rpId?: string;
  /** Leave out user verification. */
  userVerified?: boolean;
  /** Report this counter instead of the next one. */
  counter?: number;
  /** Send this user handle instead of the credential's own. */
  userHandle?: string;
  type?: string;
};

/**
 * One ES256 passkey held in software, for tests and benchmarks that need real WebAuthn assertions
 * without a browser: flags, counter and user handle are under the test's control.
 */
export class SoftPasskey {
  readonly id: string;
  readonly userHandle: string;
  readonly rpId: string;
  readonly synced: boolean;
  counter: number;
  readonly counterStep: number;
  private readonly privateKey: KeyObject;
  readonly publicKeyCose: Uint8Array;

  constructor(options: { rpId: string; userHandle: string; synced?: boolean; counterStep?: number }) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    this.privateKey = privateKey;
    this.publicKeyCose = new Uint8Array(isoCBOR.encode(new Map<number, number | Uint8Array>([
      [1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')],
    ])));
    this.id = randomBytes(32).toString('base64url');
    this.rpId = options.rpId;
    this.userHandle = options.userHandle;
    this.synced = options.synced ?? false;
    // Synced passkeys typically report 0 forever; device-bound ones count up.
    this.counterStep = options.counterStep ?? (this.synced ? 0 : 1);
    this.counter = 0;
  }

  /**
   * A new passkey answering creation `options` from `origin`: the RegistrationResponseJSON a browser
   * would send (attestation `none`), and the authenticator that now holds the key.
   */
  static create(options: PublicKeyCredentialCreationOptionsJSON, origin: string, settings: { synced?: boolean; aaguid?: string; userVerified?: boolean; rpId?: string } = {}) {
    const passkey = new SoftPasskey({ rpId: options.rp.id ?? 'localhost', userHandle: options.user.id, synced: settings.synced });
    let flags = FLAGS.UP | FLAGS.AT | (settings.userVerified === false ? 0 : FLAGS.UV);
    if (passkey.synced) flags |= FLAGS.BE | FLAGS.BS;
    const id = Buffer.from(passkey.id, 'base64url');
    const aaguid = Buffer.from((settings.aaguid ?? '00000000-0000-0000-0000-000000000000').replaceAll('-', ''), 'hex');
    const length = Buffer.alloc(2);
    length.writeUInt16BE(id.length);
    const authenticatorData = Buffer.concat([sha256(settings.rpId ?? passkey.rpId), Buffer.from([flags]), u32(0), aaguid, length, id, passkey.publicKeyCose]);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authenticatorData]]) as never);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin, crossOrigin: false }));
    const response: RegistrationResponseJSON = {
      id: passkey.id,
      rawId: passkey.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        transports: ['internal', 'hybrid'],
      },
    };
    return { passkey, response };
  }

  /** The store record for this credential, as registration would have written it. */
  record(memberId: string, name = 'Test passkey'): Passkey {
    return {
      id: this.id,
      memberId,
      userHandle: this.userHandle,
      publicKey: this.publicKeyCose,
      counter: 0,
      transports: ['internal'],
      synced: this.synced,
      backedUp: this.synced,
      aaguid: '00000000-0000-0000-0000-000000000000',
      name,
      createdAt: new Date(),
      lastUsedAt: undefined,
      lastUsedFrom: undefined,
    };
  }

  /** The private key as PKCS#8 DER, e.g. to give the same credential to a browser's virtual authenticator. */
  privateKeyPkcs8(): Buffer {
    return this.privateKey.export({ format: 'der', type: 'pkcs8' });
  }

  /** An AuthenticationResponseJSON answering `options`, as a browser would send it from `origin`. */
  assert(options: PublicKeyCredentialRequestOptionsJSON, origin: string, tweak: Assertion = {}): AuthenticationResponseJSON {
    if (tweak.counter === undefined) this.counter += this.counterStep;
    const counter = tweak.counter ?? this.counter;
    let flags = FLAGS.UP | (tweak.userVerified === false ? 0 : FLAGS.UV);
    if (this.synced) flags |= FLAGS.BE | FLAGS.BS;
    const authenticatorData = Buffer.concat([sha256(tweak.rpId ?? this.rpId), Buffer.from([flags]), u32(counter)]);
    const clientDataJSON = Buffer.from(JSON.stringify({
      type: tweak.type ?? 'webauthn.get',
      challenge: options.challenge,
      origin: tweak.origin ?? origin,
      crossOrigin: false,
    }));
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authenticatorData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: tweak.userHandle ?? this.userHandle,
      },
    };
  }
}

/** A member's user handle as registration encodes it: the opaque member id's UTF-8 bytes, base64url. */
export function userHandleOf(memberId: string): string {
  return Buffer.from(memberId, 'utf8').toString('base64url');
}

/** Creates a software passkey for `memberId` and stores it, as if registered. */
export async function enrolSoftPasskey(store: Store, memberId: string, rpId: string, options: { synced?: boolean; name?: string } = {}): Promise<SoftPasskey> {
  const passkey = new SoftPasskey({ rpId, userHandle: userHandleOf(memberId), synced: options.synced });
  await store.passkeys.create(passkey.record(memberId, options.name ?? `Passkey ${randomUUID().slice(0, 4)}`));
  return passkey;
}
