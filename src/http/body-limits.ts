import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.ts';

/**
 * The largest body the provider's endpoints take, pushed authorization requests aside: a token
 * request with a client assertion carrying its certificate chain fits several times over.
 * oidc-provider would read up to 56 KiB and then answer `400`.
 */
const PROTOCOL_BODY_BYTES = 16 * 1024;

/** oidc-provider's pushed authorization request endpoint (RFC 9126), matched as its router does. */
const PUSHED_REQUESTS = /^\/request\/?$/i;

/**
 * A refusal for a request to one of the provider's endpoints whose body is larger than that
 * endpoint takes, decided from its `Content-Length` before a byte of it is read: `413`. A pushed
 * authorization request, which the IdP stores, must say its length (`411` otherwise); oidc-provider's
 * own ceiling holds for other bodies sent in chunks. Our own pages limit their bodies as they read
 * them (body.ts).
 */
export function providerBodyRefusal(req: IncomingMessage, path: string, pushedRequestBytes: number): HttpError | undefined {
  const pushed = PUSHED_REQUESTS.test(path);
  const declared = req.headers['content-length'];
  if (declared === undefined) {
    if (!pushed || req.headers['transfer-encoding'] === undefined) return undefined;
    return new HttpError(411, 'invalid_request', 'a pushed authorization request must state its length (Content-Length)');
  }
  const limit = pushed ? pushedRequestBytes : PROTOCOL_BODY_BYTES;
  if (Number(declared) <= limit) return undefined;
  return new HttpError(413, 'invalid_request', `the request body is larger than ${limit} bytes, the most this endpoint takes`);
}
