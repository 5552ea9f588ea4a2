import { ConfigError } from '../../runtime/config';
import {
  clusterIdFromUid,
  consumerKeyOf,
  fallbackOperatorId,
  installInstanceOf,
  operatorIdOf,
  resolveIdentity,
} from '../../runtime/identity';

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const uid = '6a1f5c2e-8d3b-4f7a-9c0e-1b2d3e4f5a6b';
const none = {
  operatorId: undefined,
  clusterId: undefined,
  // OPERATOR_NAMESPACE's default: without RELEASE_NAME it names no install.
  operatorNamespace: 'tailscale-gateway',
  releaseName: undefined,
};

/** A kube-system UID reader that counts its calls. */
function reader(value = uid) {
  const calls = { n: 0 };
  return { calls, read: () => Promise.resolve((calls.n++, value)) };
}

describe('the identity of an install', () => {
  it('is derived per install by default: cluster from the kube-system UID, operator from namespace and release', async () => {
    const { read } = reader();
    const a = await resolveIdentity({ ...none, operatorNamespace: 'team-a', releaseName: 'tsgw' }, read);
    const b = await resolveIdentity({ ...none, operatorNamespace: 'team-b', releaseName: 'tsgw' }, read);
    expect(a.clusterId).toBe(clusterIdFromUid(uid));
    expect(b.clusterId).toBe(a.clusterId);
    expect(a.operatorId).toMatch(/^team-a-tsgw-[0-9a-f]{6}$/);
    expect(consumerKeyOf(a)).not.toBe(consumerKeyOf(b));
    expect(a.instance).not.toBe(b.instance);
    expect(a.derived).toEqual({ operatorId: true, clusterId: true });
    // Stable across restarts: the same inputs give the same identity and instance.
    expect(
      await resolveIdentity({ ...none, operatorNamespace: 'team-a', releaseName: 'tsgw' }, read),
    ).toEqual(a);
  });

  it('differs between clusters, and keeps namespace/release pairs that read alike apart', () => {
    expect(clusterIdFromUid(uid)).not.toBe(clusterIdFromUid('0f0e0d0c-0000-4000-8000-000000000000'));
    expect(clusterIdFromUid(uid)).toMatch(dnsLabel);
    expect(operatorIdOf('a-b', 'c')).not.toBe(operatorIdOf('a', 'b-c'));
    expect(installInstanceOf(uid, 'a-b', 'c')).not.toBe(installInstanceOf(uid, 'a', 'b-c'));
  });

  it('is a DNS label for the longest namespace and release name', () => {
    const id = operatorIdOf('n'.repeat(63), 'release.v2.'.repeat(5) + 'r');
    expect(id).toMatch(dnsLabel);
    expect(id.length).toBeLessThanOrEqual(63);
    expect(operatorIdOf('n'.repeat(63), 'x')).not.toBe(operatorIdOf('n'.repeat(63), 'y'));
  });

  it('takes explicit OPERATOR_ID and CLUSTER_ID over derived ones, still naming the install', async () => {
    const { read, calls } = reader();
    const explicit = await resolveIdentity(
      { operatorId: 'prod', clusterId: 'eu-1', operatorNamespace: 'ops', releaseName: 'tsgw' },
      read,
    );
    expect(explicit).toMatchObject({
      operatorId: 'prod',
      clusterId: 'eu-1',
      derived: { operatorId: false, clusterId: false },
    });
    expect(explicit.instance).toBe(installInstanceOf(uid, 'ops', 'tsgw'));
    expect(calls.n).toBe(1);
  });

  it('reads nothing with explicit ids outside the chart, and has no instance to compare then', async () => {
    const { read, calls } = reader();
    const manual = await resolveIdentity({ ...none, operatorId: 'op-a', clusterId: 'east' }, read);
    expect(manual).toEqual({
      operatorId: 'op-a',
      clusterId: 'east',
      derived: { operatorId: false, clusterId: false },
    });
    expect(calls.n).toBe(0);
    const bare = await resolveIdentity(none, read);
    expect(bare.operatorId).toBe(fallbackOperatorId);
    expect(bare.clusterId).toBe(clusterIdFromUid(uid));
    expect(bare.instance).toBeUndefined();
  });

  it('refuses to start when the cluster id cannot be derived', async () => {
    await expect(
      resolveIdentity({ ...none, operatorNamespace: 'ops', releaseName: 'tsgw' }, () =>
        Promise.reject(
          new ConfigError('cannot read Namespace kube-system: grant get on namespaces, or set CLUSTER_ID'),
        ),
      ),
    ).rejects.toThrow(/CLUSTER_ID/);
  });
});
