import {
  chooseConfigFile,
  currentCapabilityVersion,
  loadTailscaledConfig,
  TailscaledConfigRefused,
} from '../../../simulators/proxy/conffile';

const path = '/etc/tsconfig/web-0/cap-106.hujson';
const valid = { Version: 'alpha0', Locked: false, Hostname: 'web-0', acceptDNS: false };
const load = (text: string) => loadTailscaledConfig(path, text);
const refusal = (text: string) => {
  try {
    load(text);
  } catch (err) {
    expect(err).toBeInstanceOf(TailscaledConfigRefused);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${text}`);
};

/** Each rule of tailscale.com v1.102.5's conffile.Load (test/stack/simulators/proxy.test.ts drives a replica with them). */
describe('stand-in tailscaled config decoding (conffile.Load rules)', () => {
  const refused: [string, string, RegExp][] = [
    [
      'opt.Bool as a string',
      JSON.stringify({ ...valid, Locked: 'false' }),
      /invalid opt\.Bool value for Locked/,
    ],
    [
      'acceptDNS as a string',
      JSON.stringify({ ...valid, acceptDNS: 'false' }),
      /opt\.Bool value for acceptDNS/,
    ],
    [
      'an unknown field',
      JSON.stringify({ ...valid, AcceptRoutes2: true }),
      /json: unknown field "AcceptRoutes2"/,
    ],
    ['no version', JSON.stringify({ Hostname: 'web-0' }), /no "version" field defined/],
    [
      'another version',
      JSON.stringify({ ...valid, Version: 'alpha1' }),
      /unsupported "version" value "alpha1"/,
    ],
    ['a wrong type', JSON.stringify({ ...valid, Hostname: 7 }), /ConfigVAlpha\.Hostname of type string/],
    ['a wrong list element', JSON.stringify({ ...valid, AdvertiseServices: [1] }), /\[\]string/],
    ['a route that is no prefix', JSON.stringify({ ...valid, AdvertiseRoutes: ['10.0.0.1'] }), /ParsePrefix/],
    [
      'an unknown nested field',
      JSON.stringify({ ...valid, AutoUpdate: { Check: true, Now: 1 } }),
      /unknown field "Now"/,
    ],
    ['trailing data', `${JSON.stringify(valid)} {}`, /HuJSON\/JSON: invalid HuJSON/],
    ['not HuJSON', "{'Version': 'alpha0'}", /HuJSON\/JSON/],
  ];
  it.each(refused)('refuses %s', (_what, text, message) => {
    expect(refusal(text)).toMatch(message);
  });

  it('accepts HuJSON, null opt.Bools and keys in any case, the last of two wins, as encoding/json does', () => {
    const text =
      '// written by hand\n{"version": "alpha0", "locked": null, "HOSTNAME": "a", "Hostname": "b", "AcceptDNS": true,\n "AdvertiseServices": ["svc:web",],}';
    expect(load(text)).toEqual({
      Version: 'alpha0',
      Locked: null,
      Hostname: 'b',
      acceptDNS: true,
      AdvertiseServices: ['svc:web'],
    });
  });

  it('does not echo a value that could be an auth key', () => {
    expect(refusal(JSON.stringify({ ...valid, Locked: 'tskey-auth-secret' }))).not.toContain('tskey');
  });
});

describe('stand-in choice of the versioned config file (containerboot tailscaledConfigFilePath)', () => {
  it('picks the highest cap-<N>.hujson at most its own capability version', () => {
    const files = ['cap-95.hujson', 'cap-106.hujson', 'cap-150.hujson', 'other'];
    expect(chooseConfigFile(files, currentCapabilityVersion, '/d')).toBe('cap-106.hujson');
    expect(chooseConfigFile(files, 100, '/d')).toBe('cap-95.hujson');
    expect(chooseConfigFile(['tailscaled'], 100, '/d')).toBe('tailscaled');
  });

  it('refuses to start when every file is above its version (a proxy older than the operator)', () => {
    expect(() => chooseConfigFile(['cap-106.hujson'], 142, '/d')).not.toThrow();
    // Until version 107 containerboot printed the number with %q: 100 is 'd'.
    expect(() => chooseConfigFile(['cap-106.hujson'], 100, '/d')).toThrow(
      new TailscaledConfigRefused(
        `no tailscaled config file found in "/d" for current capability version 'd'`,
      ),
    );
  });
});
