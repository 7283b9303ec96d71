import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShelfError } from '../core/errors.js';
import {
  assertAddressAllowed,
  blockedRange,
  isHostAllowed,
  isIpLiteral,
  normalizeHost,
  type GuardPolicy,
} from './address-guard.js';

const STRICT: GuardPolicy = { allowPrivateAddresses: false, allowHosts: [] };

describe('blockedRange', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private (RFC 1918)'],
    ['10.255.255.255', 'private (RFC 1918)'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.1.1', 'private (RFC 1918)'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT (RFC 6598)'],
    ['100.127.255.255', 'carrier-grade NAT (RFC 6598)'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved (IANA special-purpose)'],
    ['192.0.2.1', 'reserved (IANA special-purpose)'],
    ['198.18.0.1', 'reserved (IANA special-purpose)'],
  ])('refuses the IPv4 address %s as %s', (address, range) => {
    expect(blockedRange(address)).toBe(range);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '9.255.255.255',
    '11.0.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '169.253.255.255',
    '192.169.0.1',
    '223.255.255.255',
  ])('allows the public IPv4 address %s', (address) => {
    expect(blockedRange(address)).toBeUndefined();
  });

  it.each([
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique local (private, RFC 4193)'],
    ['fd12:3456::1', 'unique local (private, RFC 4193)'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'site-local (deprecated)'],
    ['2001:db8::1', 'reserved (IANA special-purpose)'],
    ['2001::1', 'Teredo tunnel'],
    ['::ffff:127.0.0.1', 'loopback (IPv4-mapped)'],
    ['::FFFF:7F00:1', 'loopback (IPv4-mapped)'],
    ['::ffff:10.0.0.1', 'private (RFC 1918) (IPv4-mapped)'],
    ['::ffff:169.254.169.254', 'link-local (IPv4-mapped)'],
    ['::ffff:0:10.0.0.1', 'private (RFC 1918) (IPv4-translated)'],
    ['64:ff9b::10.0.0.1', 'private (RFC 1918) (NAT64)'],
    ['64:ff9b:1::1', 'local-use NAT64 (RFC 8215)'],
    ['2002:a00:1::', 'private (RFC 1918) (6to4)'],
    ['2002:7f00:1::1', 'loopback (6to4)'],
    ['::10.0.0.1', 'IPv4-compatible (deprecated)'],
    ['::8.8.8.8', 'IPv4-compatible (deprecated)'],
    ['::102:304', 'IPv4-compatible (deprecated)'],
  ])('refuses the IPv6 address %s as %s', (address, range) => {
    expect(blockedRange(address)).toBe(range);
  });

  it.each([
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '[2a00:1450:4001:80b::200e]',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
  ])('allows the public IPv6 address %s', (address) => {
    expect(blockedRange(address)).toBeUndefined();
  });

  it.each(['', 'example.com', '1.2.3', '999.1.1.1', '::g', '[::1', '10.0.0.1/8', ' ', '0x7f.1', '\u0000'])(
    'treats the non-address %j as refused',
    (text) => {
      expect(blockedRange(text)).toBe('unparseable');
    },
  );

  /** A naive oracle: the refused IPv4 blocks written out as [first octets, prefix]. */
  const REFUSED_V4: [number[], number][] = [
    [[0], 8],
    [[10], 8],
    [[100, 64], 10],
    [[127], 8],
    [[169, 254], 16],
    [[172, 16], 12],
    [[192, 0, 0], 24],
    [[192, 0, 2], 24],
    [[192, 31, 196], 24],
    [[192, 52, 193], 24],
    [[192, 88, 99], 24],
    [[192, 168], 16],
    [[192, 175, 48], 24],
    [[198, 18], 15],
    [[198, 51, 100], 24],
    [[203, 0, 113], 24],
    [[224], 4],
    [[240], 4],
  ];
  const toInt = (octets: readonly number[]): number =>
    [0, 1, 2, 3].reduce((n, i) => n * 256 + (octets[i] ?? 0), 0);
  const inOracle = (octets: number[]): boolean =>
    REFUSED_V4.some(([base, prefix]) => {
      const size = 2 ** (32 - prefix);
      return Math.floor(toInt(octets) / size) === Math.floor(toInt(base) / size);
    });
  const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));

  it('refuses an IPv4 address exactly when it lies in one of the listed special-purpose blocks', () => {
    fc.assert(
      fc.property(octets, (o) => {
        expect(blockedRange(o.join('.')) !== undefined).toBe(inOracle(o));
      }),
      { numRuns: 2000 },
    );
  });

  it('judges an IPv4-mapped IPv6 address as it judges the IPv4 address inside', () => {
    fc.assert(
      fc.property(octets, (o) => {
        const v4 = blockedRange(o.join('.'));
        const mapped = blockedRange(`::ffff:${o.join('.')}`);
        expect(mapped).toBe(v4 === undefined ? undefined : `${v4} (IPv4-mapped)`);
      }),
    );
  });

  it('never throws on any IPv4 or IPv6 text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string()), (text) => {
        const range = blockedRange(text);
        expect(range === undefined || typeof range === 'string').toBe(true);
      }),
    );
  });
});

describe('assertAddressAllowed', () => {
  it('throws FETCH_BLOCKED_ADDRESS naming the URL, the address and the range', () => {
    let error: unknown;
    try {
      assertAddressAllowed({
        url: 'http://internal/',
        host: 'internal',
        address: '10.1.2.3',
        policy: STRICT,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ShelfError);
    expect(error).toMatchObject({
      code: 'FETCH_BLOCKED_ADDRESS',
      details: { url: 'http://internal/', address: '10.1.2.3', range: 'private (RFC 1918)' },
    });
    expect((error as Error).message).toBe(
      'Refusing to fetch http://internal/: it resolves to 10.1.2.3, a private (RFC 1918) address.',
    );
  });

  it('lets public addresses through', () => {
    expect(() =>
      assertAddressAllowed({ url: 'http://a/', host: 'a', address: '8.8.8.8', policy: STRICT }),
    ).not.toThrow();
  });

  it('refuses every address in 10.0.0.0/8', () => {
    fc.assert(
      fc.property(fc.nat(255), fc.nat(255), fc.nat(255), (b, c, d) => {
        const address = `10.${b}.${c}.${d}`;
        expect(() => assertAddressAllowed({ url: 'http://x/', host: 'x', address, policy: STRICT })).toThrow(
          ShelfError,
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('lets every address through when allowPrivateAddresses is on', () => {
    const open: GuardPolicy = { allowPrivateAddresses: true, allowHosts: [] };
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), (address) => {
        expect(() =>
          assertAddressAllowed({ url: 'http://x/', host: 'x', address, policy: open }),
        ).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it('lets a host listed in allowHosts reach a private address, and only that host', () => {
    const policy: GuardPolicy = { allowPrivateAddresses: false, allowHosts: ['nas.lan', '127.0.0.1'] };
    const check = (host: string, address: string) => () =>
      assertAddressAllowed({ url: `http://${host}/`, host, address, policy });
    expect(check('NAS.lan.', '192.168.1.10')).not.toThrow();
    expect(check('127.0.0.1', '127.0.0.1')).not.toThrow();
    expect(check('other.lan', '192.168.1.10')).toThrow(ShelfError);
    expect(check('127.0.0.2', '127.0.0.2')).toThrow(ShelfError);
    expect(check('nas.lan.evil.com', '192.168.1.10')).toThrow(ShelfError);
  });
});

describe('isHostAllowed', () => {
  it('compares names without case or trailing dot and IPv6 literals in any spelling', () => {
    const policy: GuardPolicy = {
      allowPrivateAddresses: false,
      allowHosts: ['Example.COM', '0:0::1', '[fd00::1]'],
    };
    expect(isHostAllowed('example.com.', policy)).toBe(true);
    expect(isHostAllowed('[::1]', policy)).toBe(true);
    expect(isHostAllowed('fd00:0:0::1', policy)).toBe(true);
    expect(isHostAllowed('www.example.com', policy)).toBe(false);
    expect(isHostAllowed('com', policy)).toBe(false);
    expect(isHostAllowed('::2', policy)).toBe(false);
  });
});

describe('normalizeHost and isIpLiteral', () => {
  it('normalizes host spellings and tells IP literals from names', () => {
    expect(normalizeHost(' LocalHost. ')).toBe('localhost');
    expect(normalizeHost('[0:0:0:0:0:0:0:1]')).toBe('::1');
    expect(normalizeHost('127.0.0.1')).toBe('127.0.0.1');
    expect(isIpLiteral('[::1]')).toBe(true);
    expect(isIpLiteral('10.0.0.1')).toBe(true);
    expect(isIpLiteral('localhost')).toBe(false);
    expect(isIpLiteral('10.0.0.1.example')).toBe(false);
  });
});
