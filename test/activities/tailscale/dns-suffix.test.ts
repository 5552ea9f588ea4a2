/** Tailnet DNS suffix discovery from device names. */
import { discoverTailnetDnsSuffix, dnsSuffixFromDeviceNames } from '../../../activities/tailscale/dns-suffix';
import { startSim } from '../../simulators/tailscale/support';
import { clientFor } from './support';

test.each([
  [[{ name: 'pangolin.tailfe8c.ts.net', isExternal: false }], 'tailfe8c.ts.net'],
  [[{ name: 'pangolin.tailfe8c.ts.net.', isExternal: false }], 'tailfe8c.ts.net'],
  [[{ name: 'shared.tailother.ts.net', isExternal: true }], null],
  [
    [
      { name: 'a.tail1.ts.net', isExternal: false },
      { name: 'b.tail1.ts.net', isExternal: false },
      { name: 'c.tailx.ts.net', isExternal: true },
      { name: 'd.tailx.ts.net', isExternal: true },
      { name: 'e.tailx.ts.net', isExternal: true },
    ],
    'tail1.ts.net',
  ],
  [[{ name: 'bare-hostname', isExternal: false }], null],
  [[], null],
])('dnsSuffixFromDeviceNames(%j) = %j', (devices, expected) => {
  expect(dnsSuffixFromDeviceNames(devices)).toBe(expected);
});

test('discovered from the tailnet’s devices over HTTP; null while there are none', async () => {
  const h = await startSim({ dnsSuffix: 'tail0622b6.ts.net' });
  try {
    const client = await clientFor(h, ['devices:core', 'auth_keys']);
    expect(await discoverTailnetDnsSuffix(client)).toBeNull();
    await h.device('first');
    expect(await discoverTailnetDnsSuffix(client)).toBe('tail0622b6.ts.net');
  } finally {
    await h.close();
  }
});
