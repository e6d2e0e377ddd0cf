import type { IncomingMessage } from 'node:http';
import { isIP, type BlockList } from 'node:net';
import type { TrustProxy } from '../config/trust-proxy.ts';

/**
 * True when any proxy is trusted, so `X-Forwarded-Proto` may be read (Koa's `proxy`). The host is
 * never taken from a proxy: it is the issuer's (issuer-origin.ts).
 */
export function trustsProxies(trust: TrustProxy): boolean {
  return 'ranges' in trust || trust.hops > 0;
}

/**
 * Works out the client address of a request and makes its forwarding headers honest: the address is
 * the one the outermost trusted proxy saw, counted from the right of `X-Forwarded-For` (entries to
 * its left are written by the client and are never believed). Malformed entries are skipped. When
 * the request did not come through a trusted proxy, the `X-Forwarded-*` headers are removed so that
 * nothing downstream (Koa, oidc-provider) reads them.
 */
export function createClientAddress(trust: TrustProxy): (req: IncomingMessage) => string {
  return (req) => {
    const peer = plainAddress(req.socket.remoteAddress ?? '') ?? '';
    const trustedPeer = 'ranges' in trust ? inRanges(trust.ranges, peer) : trust.hops > 0;
    if (!trustedPeer) {
      stripForwarding(req);
      return peer;
    }
    const forwarded = forwardedFor(req);
    // The chain as the nearest proxy reports it: client, proxies…, then the peer itself.
    const chain = [...forwarded, peer];
    let index = chain.length - 1;
    if ('ranges' in trust) {
      while (index > 0 && inRanges(trust.ranges, chain[index]!)) index--;
    } else {
      index = Math.max(0, chain.length - 1 - trust.hops);
    }
    honestProto(req, chain.length - 1 - index);
    return chain[index]!;
  };
}

/**
 * The key a per-client limit counts under: an IPv4 address, or an IPv6 address's /64 (one customer
 * line is handed a whole /64, so counting single IPv6 addresses would let one client look like
 * billions).
 */
export function limitKeyOf(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

function forwardedFor(req: IncomingMessage): string[] {
  const header = req.headers['x-forwarded-for'];
  const text = Array.isArray(header) ? header.join(',') : header ?? '';
  return text.split(',').map((entry) => plainAddress(entry.trim())).filter((entry): entry is string => entry !== undefined);
}

/**
 * `X-Forwarded-Proto` may carry one entry per proxy; the one that counts is the entry the
 * outermost trusted proxy wrote, `hops` from the right. Koa reads the first entry, so that one is
 * put in place.
 */
function honestProto(req: IncomingMessage, hops: number): void {
  const header = req.headers['x-forwarded-proto'];
  if (typeof header !== 'string' || !header.includes(',')) return;
  const entries = header.split(',').map((entry) => entry.trim());
  req.headers['x-forwarded-proto'] = entries[Math.max(0, entries.length - Math.max(1, hops))];
}

function stripForwarding(req: IncomingMessage): void {
  for (const name of ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'forwarded']) delete req.headers[name];
}

/** An IP address without brackets, port or zone, IPv4-mapped IPv6 as IPv4; undefined when it is not one. */
function plainAddress(entry: string): string | undefined {
  let address = entry;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  address = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(address);
  if (mapped) address = mapped[1]!;
  return isIP(address) ? address.toLowerCase() : undefined;
}

function inRanges(ranges: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && ranges.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** The eight 16-bit groups of an IPv6 address, lower-case and unabbreviated. */
function expandIpv6(address: string): string[] | undefined {
  const [head = '', tail] = address.split('::');
  const part = (text: string) => (text ? text.split(':') : []);
  const groups = tail === undefined ? part(head) : [...part(head), ...Array(8 - part(head).length - part(tail).length).fill('0'), ...part(tail)];
  if (groups.length !== 8) return undefined;
  return groups.map((group) => group.padStart(4, '0').toLowerCase());
}
