import type { V1ConfigMap } from '@kubernetes/client-node';
import { withServeEntries } from '../../../activities/kubernetes/serve-config-entries';

const key = 'serve-config.json';
const tcp = (target: string) => ({ TCP: { '5432': { TCPForward: target } } });
const configMap = (data?: Record<string, string>): V1ConfigMap => ({
  metadata: { namespace: 'ns', name: 'pool-proxies', resourceVersion: '7' },
  ...(data ? { data } : {}),
});

describe('withServeEntries: one VIP service’s entry of a shared serve config', () => {
  it('adds and replaces entries by service, sorted, leaving the other keys (egress) alone', () => {
    const one = withServeEntries(configMap({ 'egress-services': '{}' }), [
      { serviceName: 'svc:web', config: tcp('10.0.0.1:5432') },
    ]);
    const two = withServeEntries(one!, [
      { serviceName: 'svc:db', config: tcp('10.0.0.2:5432') },
      { serviceName: 'svc:web', config: tcp('10.0.0.3:5432') },
    ]);
    expect(two?.data?.['egress-services']).toBe('{}');
    expect(two?.metadata?.resourceVersion).toBe('7');
    expect(two?.data?.[key]).toBe(
      JSON.stringify({ Services: { 'svc:db': tcp('10.0.0.2:5432'), 'svc:web': tcp('10.0.0.3:5432') } }),
    );
  });

  it('writes nothing when the batch changes nothing, and drops the key with its last entry', () => {
    const stored = withServeEntries(configMap(), [{ serviceName: 'svc:web', config: tcp('10.0.0.1:5432') }])!;
    expect(
      withServeEntries(stored, [{ serviceName: 'svc:web', config: tcp('10.0.0.1:5432') }]),
    ).toBeUndefined();
    expect(withServeEntries(stored, [{ serviceName: 'svc:other' }])).toBeUndefined();
    expect(withServeEntries(configMap(), [{ serviceName: 'svc:web' }])).toBeUndefined();
    expect(withServeEntries(stored, [{ serviceName: 'svc:web' }])?.data).toEqual({});
  });

  it('refuses to rewrite a file that is not a serve config', () => {
    expect(() =>
      withServeEntries(configMap({ [key]: '["x"]' }), [{ serviceName: 'svc:web', config: tcp('1.2.3.4:1') }]),
    ).toThrow('serve-config.json of ConfigMap ns/pool-proxies is not a serve config');
  });
});
