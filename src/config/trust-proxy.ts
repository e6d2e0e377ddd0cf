import { BlockList, isIP } from 'node:net';

/**
 * Which proxies in front of the IdP are trusted to say who the client is: none (`{ hops: 0 }`), a
 * fixed number of them (`{ hops: n }`: a load balancer is 1, a CDN in front of it 2), or those whose
 * addresses fall in a list of ranges.
 */
export type TrustProxy = { hops: number } | { ranges: BlockList; description: string };

/** Parses TRUST_PROXY: a count of proxies, or comma-separated addresses and CIDR ranges. */
export function parseTrustProxy(value: string | undefined): TrustProxy | string {
  const text = (value ?? '').trim();
  if (text === '' || text === 'false') return { hops: 0 };
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops <= 16 ? { hops } : `TRUST_PROXY: ${hops} proxies is not plausible (at most 16)`;
  }
  if (['true', 'yes', 'on'].includes(text.toLowerCase())) {
    return 'TRUST_PROXY is the number of proxies in front of the IdP (e.g. 1 for one load balancer) or a list of their addresses or CIDR ranges, not "true"';
  }
  const ranges = new BlockList();
  for (const entry of text.split(',').map((item) => item.trim()).filter(Boolean)) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
    if (!family || !/^\d*$/.test(prefix ?? '') || bits > (family === 6 ? 128 : 32)) {
      return `TRUST_PROXY: "${entry}" is neither a number of proxies nor an IP address or CIDR range`;
    }
    ranges.addSubnet(address, bits, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { ranges, description: text };
}
