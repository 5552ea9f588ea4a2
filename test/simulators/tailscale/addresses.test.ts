/** §1.8 item 2: service addresses come from the tailnet ranges, never quad-100, never a device's. */
import {
  AddressAllocator,
  bigIntToIpv6,
  canonicalIpv6,
  ipv6ToBigInt,
  isTailscaleIpv4,
  isTailscaleIpv6,
  quad100Ipv4,
  quad100Ipv6,
} from '../../../simulators/tailscale/addresses';
import { randomForIpv4, randomForIpv6Host, scriptedRandom, startSim, vipPath } from './support';

describe('address arithmetic', () => {
  test.each([
    ['fd7a:115c:a1e0::53', 'fd7a:115c:a1e0::53'],
    ['FD7A:115C:A1E0:0:0:0:0:53', 'fd7a:115c:a1e0::53'],
    ['fd7a:115c:a1e0:ab12:4843:cd96:6258:b240', 'fd7a:115c:a1e0:ab12:4843:cd96:6258:b240'],
    ['::1', '::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ])('canonicalIpv6(%s) = %s', (input, expected) => {
    expect(canonicalIpv6(input)).toBe(expected);
    expect(bigIntToIpv6(ipv6ToBigInt(input)!)).toBe(expected);
  });

  test.each(['1::2::3', 'fd7a:115c', 'g::1', '1:2:3:4:5:6:7:8:9'])('rejects malformed IPv6 %s', (input) => {
    expect(ipv6ToBigInt(input)).toBeNull();
  });

  test('range membership', () => {
    expect(isTailscaleIpv4('100.64.0.1')).toBe(true);
    expect(isTailscaleIpv4('100.127.255.254')).toBe(true);
    expect(isTailscaleIpv4('100.128.0.1')).toBe(false);
    expect(isTailscaleIpv4('100.63.255.255')).toBe(false);
    expect(isTailscaleIpv6('fd7a:115c:a1e0::1')).toBe(true);
    expect(isTailscaleIpv6('fd7a:115c:a1e1::1')).toBe(false);
  });
});

describe('AddressAllocator', () => {
  test('skips quad-100 even when the random source lands on it', () => {
    const allocator = new AddressAllocator(
      scriptedRandom([randomForIpv4(quad100Ipv4), randomForIpv6Host(0x53), randomForIpv4('100.64.5.6')]),
    );
    const ipv4 = allocator.allocateIpv4(new Set());
    expect(ipv4).not.toBe(quad100Ipv4);
    expect(isTailscaleIpv4(ipv4)).toBe(true);
    const ipv6 = allocator.allocateIpv6(new Set(), 'service');
    expect(ipv6).not.toBe(quad100Ipv6);
    expect(isTailscaleIpv6(ipv6)).toBe(true);
  });

  test('skips addresses in use', () => {
    const allocator = new AddressAllocator(
      scriptedRandom([randomForIpv4('100.70.0.1'), randomForIpv4('100.70.0.2')]),
    );
    expect(allocator.allocateIpv4(new Set(['100.70.0.1']))).toBe('100.70.0.2');
  });

  test('2,000 random allocations stay in range and never repeat', () => {
    const allocator = new AddressAllocator();
    const used = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const ipv4 = allocator.allocateIpv4(used);
      const ipv6 = allocator.allocateIpv6(used, i % 2 === 0 ? 'service' : 'device');
      expect(isTailscaleIpv4(ipv4) && isTailscaleIpv6(ipv6)).toBe(true);
      expect(used.has(ipv4) || used.has(ipv6)).toBe(false);
      used.add(ipv4).add(ipv6);
    }
  });
});

describe('over HTTP', () => {
  test('a created service gets neither quad-100 address when the random source points at them', async () => {
    const h = await startSim({
      random: scriptedRandom([randomForIpv4(quad100Ipv4), randomForIpv6Host(0x53)]),
    });
    try {
      const token = await h.token(['services']);
      const reply = await h.call<{ addrs: string[] }>('PUT', vipPath('svc:dns'), {
        token,
        body: { name: 'svc:dns' },
      });
      expect(reply.status).toBe(200);
      const [ipv4, ipv6] = reply.json.addrs;
      expect(ipv4).not.toBe(quad100Ipv4);
      expect(canonicalIpv6(ipv6!)).not.toBe(quad100Ipv6);
      expect(isTailscaleIpv4(ipv4!) && isTailscaleIpv6(ipv6!)).toBe(true);
    } finally {
      await h.close();
    }
  });

  test("a created service never takes a device's IPv4, and a device's IPv4 cannot be requested", async () => {
    const queue: number[] = [];
    const h = await startSim({ random: () => queue.shift() ?? Math.random() });
    try {
      const device = await h.device('node-a');
      const deviceIpv4 = device.addresses[0]!;
      const token = await h.token(['services']);
      queue.push(randomForIpv4(deviceIpv4));
      const reply = await h.call<{ addrs: string[] }>('PUT', vipPath('svc:a'), {
        token,
        body: { name: 'svc:a' },
      });
      expect(reply.status).toBe(200);
      expect(reply.json.addrs[0]).not.toBe(deviceIpv4);

      const requested = await h.call('PUT', vipPath('svc:b'), {
        token,
        body: { name: 'svc:b', addrs: [deviceIpv4] },
      });
      expect(requested.status).toBe(400);
      const reserved = await h.call('PUT', vipPath('svc:c'), {
        token,
        body: { name: 'svc:c', addrs: [quad100Ipv4] },
      });
      expect(reserved.status).toBe(400);
    } finally {
      await h.close();
    }
  });
});
