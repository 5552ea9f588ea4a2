import type { WireObject } from '../../../activities/kubernetes/apply';
import { readReplicaState } from '../../../activities/proxies/state-secret';

/** A state Secret as tailscaled's kubestore writes it (values base64, as the API returns them). */
const stateSecret = (data: Record<string, string>): WireObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'edge-0', namespace: 'tailscale' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

describe('readReplicaState', () => {
  test('reads the advertised services from the current profile only', () => {
    const secret = stateSecret({
      device_id: 'n0',
      '_current-profile': 'profile-ab12',
      'profile-ab12': JSON.stringify({ Config: { NodeID: 'n0' }, AdvertiseServices: ['svc:web', 'svc:db'] }),
      'profile-0000': JSON.stringify({ AdvertiseServices: ['svc:old'] }),
    });
    expect(readReplicaState(secret).advertisedServices).toEqual(['svc:web', 'svc:db']);
  });

  test('advertises nothing without a profile, or with one that is not JSON', () => {
    expect(readReplicaState(stateSecret({ device_id: 'n0' })).advertisedServices).toEqual([]);
    const broken = stateSecret({ '_current-profile': 'profile-ab12', 'profile-ab12': '{' });
    expect(readReplicaState(broken).advertisedServices).toEqual([]);
    expect(readReplicaState(undefined).advertisedServices).toEqual([]);
  });
});
