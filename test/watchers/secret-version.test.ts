import { secretVersionOf } from '../../watchers/dependency-informers';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const state = (data: Record<string, string>, resourceVersion = '1') => ({
  metadata: { name: 'pool-0', namespace: 'ns', resourceVersion },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});

describe('secretVersionOf: what a Secret change means to the workflows that depend on it', () => {
  const base = { device_id: 'n1', device_fqdn: 'pool-0.ts.net.', _machinekey: 'm', 'profile-ab12': '{}' };

  it("ignores tailscaled's own state keys and the resourceVersion", () => {
    const v = secretVersionOf(state(base));
    expect(secretVersionOf(state({ ...base, 'profile-ab12': '{"AdvertiseServices":["svc:a"]}' }, '2'))).toBe(
      v,
    );
    expect(secretVersionOf(state({ ...base, _current_profile: 'profile-ab12' }, '3'))).toBe(v);
  });

  it('changes with device, key and credential keys', () => {
    const v = secretVersionOf(state(base));
    expect(secretVersionOf(state({ ...base, device_id: 'n2' }))).not.toBe(v);
    expect(secretVersionOf(state({ ...base, reissue_authkey: 'no-authkey' }))).not.toBe(v);
    expect(secretVersionOf(state({ client_secret: 'a' }))).not.toBe(
      secretVersionOf(state({ client_secret: 'b' })),
    );
  });
});
