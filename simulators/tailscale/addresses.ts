/**
 * Tailnet address space: IPv4 from the CGNAT range 100.64.0.0/10, IPv6 from the Tailscale ULA
 * fd7a:115c:a1e0::/48. The quad-100 MagicDNS resolver addresses are never handed out.
 */

export const quad100Ipv4 = '100.100.100.100';
export const quad100Ipv6 = 'fd7a:115c:a1e0::53';

const ipv4RangeStart = ipv4ToNumber('100.64.0.0')!;
const ipv4RangeSize = 2 ** 22; // /10
const ipv6Prefix48 = 0xfd7a115ca1e0n << 80n;
// Devices get a host part under this /96, like fd7a:115c:a1e0:ab12:4843:cd96:6258:b240; services get
// the short form fd7a:115c:a1e0::xxxx:xxxx seen in the API's examples. Disjoint, so they never collide.
const deviceIpv6Prefix96 = ipv6ToBigInt('fd7a:115c:a1e0:ab12:4843:cd96::')!;

// Addresses Tailscale keeps for itself besides quad-100: the rest of 100.100.100.0/24 and the
// ChromeOS VM range 100.115.92.0/23.
const reservedIpv4Ranges: Array<[number, number]> = [
  [ipv4ToNumber('100.100.100.0')!, 256],
  [ipv4ToNumber('100.115.92.0')!, 512],
];

export function ipv4ToNumber(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function numberToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function ipv6ToBigInt(text: string): bigint | null {
  const lower = text.toLowerCase();
  if (!/^[0-9a-f:]+$/.test(lower) || lower.split('::').length > 2) return null;
  const [head = '', tail] = lower.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run of zero groups as `::`. */
export function bigIntToIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function canonicalIpv6(text: string): string | null {
  const value = ipv6ToBigInt(text);
  return value === null ? null : bigIntToIpv6(value);
}

export function isTailscaleIpv4(text: string): boolean {
  const value = ipv4ToNumber(text);
  return value !== null && value >= ipv4RangeStart && value < ipv4RangeStart + ipv4RangeSize;
}

export function isTailscaleIpv6(text: string): boolean {
  const value = ipv6ToBigInt(text);
  return value !== null && value >> 80n === ipv6Prefix48 >> 80n;
}

export function isReservedIpv4(text: string): boolean {
  const value = ipv4ToNumber(text);
  return value === null || reservedIpv4Ranges.some(([start, size]) => value >= start && value < start + size);
}

export function isReservedIpv6(text: string): boolean {
  return canonicalIpv6(text) === quad100Ipv6;
}

/**
 * Picks free addresses at random (like the real control plane) from a random source that tests can
 * script, so "never quad-100" and "never a device's IP" are provable rather than merely unlikely.
 */
export class AddressAllocator {
  constructor(private readonly random: () => number = Math.random) {}

  allocateIpv4(used: ReadonlySet<string>): string {
    return this.pick(used, () => {
      const value = ipv4RangeStart + Math.floor(this.random() * ipv4RangeSize);
      const lastOctet = value & 255;
      const candidate = numberToIpv4(value);
      return lastOctet === 0 || lastOctet === 255 || isReservedIpv4(candidate) ? null : candidate;
    });
  }

  allocateIpv6(used: ReadonlySet<string>, kind: 'service' | 'device'): string {
    const prefix = kind === 'service' ? ipv6Prefix48 : deviceIpv6Prefix96;
    return this.pick(used, () => {
      const host = BigInt(Math.floor(this.random() * 2 ** 32));
      const candidate = bigIntToIpv6(prefix | host);
      return host === 0n || isReservedIpv6(candidate) ? null : candidate;
    });
  }

  private pick(used: ReadonlySet<string>, candidate: () => string | null): string {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const address = candidate();
      if (address !== null && !used.has(address)) return address;
    }
    throw new Error('address space exhausted');
  }
}
