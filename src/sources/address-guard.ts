/**
 * The SSRF guard: decides whether shelf may open a connection to an IP address.
 *
 * Only public unicast addresses pass. Loopback, private (RFC 1918, RFC 4193), link-local,
 * carrier-grade NAT (RFC 6598), unspecified, multicast, broadcast and the IANA special-purpose
 * ranges are refused, and so are IPv6 forms that carry an IPv4 address inside them
 * (IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`)
 * when the address inside is refused. The range tables come from `ipaddr.js`; this module
 * only decides the policy and names the range for the error message.
 *
 * The fetcher calls the guard on every address DNS returns, at connect time, so a name
 * that resolves to a public address once and a private one later (DNS rebinding) is still
 * caught; IP literals in URLs are checked before any request.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { ShelfError } from '../core/errors.js';

/** What the guard needs from the configuration (`Config['fetch']` fits). */
export interface GuardPolicy {
  /** Let every address through (the guard is off). */
  readonly allowPrivateAddresses: boolean;
  /** Host names or IP literals whose addresses are not checked, e.g. "127.0.0.1". */
  readonly allowHosts: readonly string[];
}

/** Readable names for ipaddr.js range names, as they appear in FETCH_BLOCKED_ADDRESS. */
const RANGE_LABELS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT (RFC 6598)',
  private: 'private (RFC 1918)',
  reserved: 'reserved (IANA special-purpose)',
  as112: 'AS112 DNS sink',
  amt: 'AMT relay',
  uniqueLocal: 'unique local (private, RFC 4193)',
  deprecatedSiteLocal: 'site-local (deprecated)',
  discard: 'discard-only',
  benchmarking: 'benchmarking',
  teredo: 'Teredo tunnel',
  as112v6: 'AS112 DNS sink',
  deprecatedOrchid: 'ORCHID (deprecated)',
  orchid2: 'ORCHIDv2',
  droneRemoteIdProtocolEntityTags: 'drone remote ID',
  segmentRouting: 'segment routing',
};

const label = (range: string): string => RANGE_LABELS[range] ?? range;

/**
 * Parses an IP address in any textual form DNS or a URL may give: dotted quad, IPv6 with or
 * without an embedded dotted quad, with or without brackets or a zone id (`fe80::1%eth0`).
 * Returns undefined when it is not an IP address.
 */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone !== -1 && t.includes(':')) t = t.slice(0, zone); // only IPv6 has zone ids
  const family = isIP(t);
  if (family === 4) return ipaddr.IPv4.parse(t);
  if (family !== 6) return undefined;
  // ipaddr.js reads `::a.b.c.d` (IPv4-compatible) as if it were `::ffff:a.b.c.d`; the WHATWG
  // URL parser writes the embedded quad as hex, which ipaddr.js reads exactly.
  const canonical = new URL(`http://[${t}]/`).hostname.slice(1, -1);
  return ipaddr.IPv6.parse(canonical);
}

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

function blockedIpv4(ip: ipaddr.IPv4): string | undefined {
  const range = ip.range();
  return range === 'unicast' ? undefined : label(range);
}

function blockedIpv6(ip: ipaddr.IPv6): string | undefined {
  const p = ip.parts;
  const at = (i: number): number => p[i] ?? 0;
  const embedded = (form: string): string | undefined => {
    const inner = blockedIpv4(ipv4FromParts(at(6), at(7)));
    return inner === undefined ? undefined : `${inner} (${form})`;
  };
  const range = ip.range();
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d, RFC 4291 §2.5.5.2
      return embedded('IPv4-mapped');
    case 'rfc6145': // ::ffff:0:a.b.c.d, IPv4-translated
      return embedded('IPv4-translated');
    case 'rfc6052': // 64:ff9b::/96 is the NAT64 well-known prefix; 64:ff9b:1::/48 is local use
      return at(2) === 0 && at(3) === 0 && at(4) === 0 && at(5) === 0
        ? embedded('NAT64')
        : 'local-use NAT64 (RFC 8215)';
    case '6to4': {
      // 2002:AABB:CCDD::/48 routes to the IPv4 address AA.BB.CC.DD (RFC 3056 §2).
      const inner = blockedIpv4(ipv4FromParts(at(1), at(2)));
      return inner === undefined ? undefined : `${inner} (6to4)`;
    }
    case 'unicast':
      // ::a.b.c.d (IPv4-compatible, deprecated by RFC 4291 §2.5.5.1): never a legitimate target.
      if (p.slice(0, 6).every((part) => part === 0)) return 'IPv4-compatible (deprecated)';
      return undefined;
    default:
      return label(range);
  }
}

/**
 * The name of the refused range an address falls in, or undefined when the address is public
 * unicast and may be fetched. Text that is not an IP address counts as refused.
 */
export function blockedRange(address: string): string | undefined {
  const ip = parseAddress(address);
  if (ip === undefined) return 'unparseable';
  return ip instanceof ipaddr.IPv4 ? blockedIpv4(ip) : blockedIpv6(ip);
}

/**
 * A host name or IP literal in one comparable form: lower case, no trailing dot, no
 * brackets, IPv6 compressed (so "[0:0::1]" and "::1" compare equal).
 */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  const ip = parseAddress(h);
  return ip === undefined ? h : ip.toString();
}

/** True when the host (a URL's host name or IP literal) is listed in `allowHosts`. */
export function isHostAllowed(host: string, policy: GuardPolicy): boolean {
  const wanted = normalizeHost(host);
  return policy.allowHosts.some((allowed) => normalizeHost(allowed) === wanted);
}

/** True when `host` is an IP literal (with or without IPv6 brackets) rather than a name. */
export function isIpLiteral(host: string): boolean {
  return parseAddress(host) !== undefined;
}

/**
 * Throws FETCH_BLOCKED_ADDRESS unless the policy lets `host` connect to `address`.
 * @param url the URL being fetched, for the message
 * @param host the URL's host (name or IP literal); checked against `allowHosts`
 * @param address the IP address about to be connected to
 */
export function assertAddressAllowed(options: {
  readonly url: string;
  readonly host: string;
  readonly address: string;
  readonly policy: GuardPolicy;
}): void {
  const { url, host, address, policy } = options;
  if (policy.allowPrivateAddresses || isHostAllowed(host, policy)) return;
  const range = blockedRange(address);
  if (range !== undefined) throw new ShelfError('FETCH_BLOCKED_ADDRESS', { url, address, range });
}
