import { observationSettled, onlyStateSecretsMoved } from '../../workflows/proxy-observe-pass';
import type { ObjectSnapshot } from '../../workflows/types';

const pool = (related: Record<string, string>, over: { resourceVersion?: string; replicas?: number } = {}) =>
  ({
    metadata: {
      name: 'edge',
      namespace: 'ns',
      uid: 'u1',
      generation: 1,
      resourceVersion: over.resourceVersion ?? '1',
    },
    spec: { tailnet: 'corp', proxy: { replicas: over.replicas ?? 2 } },
    relatedVersions: {
      tailnet: 'Ready',
      stateSecrets: 's1',
      configSecrets: 'c1',
      statefulSet: '2/2',
      ...related,
    },
  }) as ObjectSnapshot<unknown>;

describe('proxy pool: a snapshot in which only the state Secrets moved', () => {
  it('is one whose state Secrets (and resourceVersion) alone differ', () => {
    expect(onlyStateSecretsMoved(pool({}), pool({ stateSecrets: 's2' }, { resourceVersion: '7' }))).toBe(
      true,
    );
  });
  it.each([
    ['a config Secret', pool({ stateSecrets: 's2', configSecrets: 'c2' })],
    ['the StatefulSet', pool({ stateSecrets: 's2', statefulSet: '2/1' })],
    ['the spec', pool({ stateSecrets: 's2' }, { replicas: 3 })],
  ])('is not one in which %s moved too', (_what, next) => {
    expect(onlyStateSecretsMoved(pool({}), next)).toBe(false);
  });
  it('is not one of a pool without state Secrets of its own (a TailscaleProxyGroup user)', () => {
    const backed = { ...pool({}), relatedVersions: { tailnet: 'Ready' } };
    expect(onlyStateSecretsMoved(backed, backed)).toBe(false);
  });
});

describe('proxy pool: an observation that leaves the whole pass nothing to do', () => {
  const known = { devices: { '0': 'd0', '1': 'd1' }, configured: { '0': 'd0', '1': 'd1' } };
  const observed = (deviceIds: Record<string, string>, reissueRequested?: number[]) => ({
    deviceIds,
    ...(reissueRequested ? { reissueRequested } : {}),
  });
  it('is every replica on the device the last whole pass knew and configured', () => {
    expect(observationSettled(2, known, observed({ '0': 'd0', '1': 'd1' }))).toBe(true);
  });
  it.each([
    ['a replica registered anew', observed({ '0': 'd0', '1': 'new' }), known],
    ['a replica lost its state', observed({ '0': 'd0' }), known],
    ['a proxy asks for a fresh key', observed({ '0': 'd0', '1': 'd1' }, [1]), known],
    [
      'the last ensureProxyConfigs did not see a device (its key may still be in the config)',
      observed({ '0': 'd0', '1': 'd1' }),
      { ...known, configured: { '0': 'd0' } },
    ],
  ])('is not one where %s', (_what, obs, k) => {
    expect(observationSettled(2, k, obs)).toBe(false);
  });
});
