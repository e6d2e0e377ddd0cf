import test from 'ava';
import { generateAuthenticationOptions } from '@simplewebauthn/server';
import { createAssertionVerifier, VerifierUnavailableError, verifyHere, type VerifyAssertion } from '../../src/auth/passkey/assertion-verifier.ts';
import { SoftPasskey } from '../helpers/soft-authenticator.ts';

const origin = 'https://id.jmb.example';
const rpId = 'id.jmb.example';

async function attempt(passkey: SoftPasskey, answerFrom = origin) {
  const options = await generateAuthenticationOptions({ rpID: rpId, userVerification: 'required' });
  const response = passkey.assert(options, answerFrom);
  return {
    response,
    expectedChallenge: options.challenge,
    expectedOrigin: [origin],
    expectedRPID: rpId,
    requireUserVerification: true,
    credential: { id: passkey.id, publicKey: passkey.publicKeyCose as Uint8Array<ArrayBuffer>, counter: 0 },
  };
}

const outcome = (verify: VerifyAssertion, options: Awaited<ReturnType<typeof attempt>>) =>
  verify(options).then(
    (result) => ({ verified: result.verified, counter: result.authenticationInfo.newCounter, uv: result.authenticationInfo.userVerified }),
    (error: Error) => ({ error: error.message }),
  );

test('on worker threads, assertions get exactly the answers and errors they get on the calling thread', async (t) => {
  const verifier = createAssertionVerifier(2);
  t.teardown(() => verifier.close());
  const passkey = new SoftPasskey({ rpId, userHandle: 'dXNlcg' });
  const genuine = await attempt(passkey);
  const fromElsewhere = await attempt(passkey, 'https://phishing.example');
  const forged = await attempt(passkey);
  forged.response.response.signature = Buffer.from('not a signature').toString('base64url');

  for (const options of [genuine, fromElsewhere, forged]) {
    t.deepEqual(await outcome(verifier.verify, options), await outcome(verifyHere, options));
  }
  t.like(await outcome(verifier.verify, genuine), { verified: true, uv: true });
  t.regex((await outcome(verifier.verify, fromElsewhere) as { error: string }).error, /origin/);
});

test('many checks at once each get their own answer', async (t) => {
  const verifier = createAssertionVerifier(2);
  t.teardown(() => verifier.close());
  const passkeys = Array.from({ length: 12 }, () => new SoftPasskey({ rpId, userHandle: 'dXNlcg', counterStep: 1 }));
  const attempts = await Promise.all(passkeys.map(async (passkey, i) => {
    for (let k = 0; k < i; k++) passkey.assert(await generateAuthenticationOptions({ rpID: rpId }), origin); // counter i
    return attempt(passkey, i % 3 === 0 ? 'https://phishing.example' : origin);
  }));
  const results = await Promise.all(attempts.map((options) => outcome(verifier.verify, options)));
  results.forEach((result, i) => {
    if (i % 3 === 0) t.true('error' in result, `attempt ${i}`);
    else t.like(result, { verified: true, counter: i + 1 }, `attempt ${i}`);
  });
});

test('after closing, checks still run, on the calling thread', async (t) => {
  const verifier = createAssertionVerifier(1);
  await verifier.close();
  t.like(await outcome(verifier.verify, await attempt(new SoftPasskey({ rpId, userHandle: 'dXNlcg' }))), { verified: true });
});

test('a check whose worker dies is rejected as the IdP\'s fault, and later checks run on the calling thread', async (t) => {
  const verifier = createAssertionVerifier(1, new URL('../helpers/dying-worker.ts', import.meta.url));
  t.teardown(() => verifier.close());
  const passkey = new SoftPasskey({ rpId, userHandle: 'dXNlcg' });
  await t.throwsAsync(verifier.verify(await attempt(passkey)), { instanceOf: VerifierUnavailableError });
  t.like(await outcome(verifier.verify, await attempt(passkey)), { verified: true });
});
