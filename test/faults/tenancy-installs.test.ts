/**
 * Two installs of the operator with the chart's DEFAULT values (no operatorId, no clusterId) in two
 * namespaces of one cluster, on one tailnet, sharing the VIP service `svc:api` (issue 13, item 3).
 *
 * Guards: the identity derived per install (runtime/identity.ts): one cluster id from the kube-system
 * UID, an operator id per namespace and release. With the old fixed defaults (operator/cluster) both
 * wrote one registry entry, and deleting either object deleted `svc:api` under the other: the first
 * case fails on that code (run at e978e7c: one consumer instead of two). Then an install given the same
 * identity explicitly is refused (IdentityCollision) and the first install's entry is left untouched.
 */
import { getVipService } from '../../activities/tailscale/vip-services';
import { readRegistry } from '../../activities/vip/registry';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../simulators/tailscale/server';
import { scanWorld } from './support/secrets-scan';
import { startFaultWorld, type FaultWorld } from './support/world';

const serviceName = 'svc:api';
const release = 'tsgw';

describe('two installs with default values on one tailnet', () => {
  let sim: TailscaleSimulator;
  let a: FaultWorld;
  let b: FaultWorld;
  let clash: FaultWorld | undefined;

  beforeAll(async () => {
    sim = await startTailscaleSimulator({ dnsSuffix: 'tail1d5a.ts.net', seed: 13 });
    [a, b] = await Promise.all([
      startFaultWorld({ prefix: 'inst-a', sim, release }),
      startFaultWorld({ prefix: 'inst-b', sim, release, operator: { temporalNamespace: 'operator-b' } }),
    ]);
    for (const w of [a, b])
      await w.objects.createManualEndpoints('api-proxies', w.tailnet.name, { app: 'api' });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), clash?.close()]);
    await sim?.close();
  });

  const route = (w: FaultWorld) => `services/${w.namespace}/api`;
  const attach = async (w: FaultWorld) => {
    await w.objects.create(
      'TailscaleServices',
      'api',
      {
        tailnet: w.tailnet.name,
        selector: { matchLabels: { app: 'api' } },
        vipService: { name: serviceName, ports: ['tcp:443'], tags: ['tag:web'] },
      },
      w.operator.labels,
    );
    await w.objects.waitReady('TailscaleServices', 'api', 180_000);
  };
  const detach = async (w: FaultWorld) => {
    await w.objects.delete('TailscaleServices', 'api');
    await w.objects.waitGone('TailscaleServices', 'api', 180_000);
  };
  /** The routes of each registry entry of svc:api, by consumer key; null when the service is gone. */
  const consumers = async () => {
    const stored = await getVipService(a.tailnet.api, serviceName);
    if (!stored) return null;
    const registry = readRegistry(stored.annotations);
    return Object.fromEntries(Object.entries(registry?.consumers ?? {}).map(([k, c]) => [k, c.routes]));
  };
  const routesOf = async () => Object.values((await consumers()) ?? {}).sort();

  it('keeps svc:api for the other install through the delete of each one’s object, and again after re-creating', async () => {
    await attach(a);
    await attach(b);
    expect(await routesOf()).toEqual([[route(a)], [route(b)]].sort());

    await detach(a);
    expect(await routesOf()).toEqual([[route(b)]]);
    await b.objects.waitReady('TailscaleServices', 'api');

    await attach(a);
    expect(await routesOf()).toEqual([[route(a)], [route(b)]].sort());

    await detach(b);
    expect(await routesOf()).toEqual([[route(a)]]);
    await a.objects.waitReady('TailscaleServices', 'api');

    await attach(b);
    expect(await routesOf()).toEqual([[route(a)], [route(b)]].sort());
  }, 900_000);

  it('shows each install’s own identity in its tailnet status, the keys of its registry entries', async () => {
    const identities = await Promise.all(
      [a, b].map(async (w) => {
        const tailnet = await w.objects.waitReady('TailscaleTailnet', w.tailnet.name);
        return (tailnet.status as { operator?: { clusterID: string; operatorID: string } }).operator;
      }),
    );
    const [ia, ib] = identities;
    expect(ia?.clusterID).toMatch(/^[0-9a-f]{12}$/);
    expect(ib?.clusterID).toBe(ia?.clusterID);
    expect(ia?.operatorID).toMatch(new RegExp(`^${a.namespace}-${release}-[0-9a-f]{6}$`));
    expect(ib?.operatorID).toMatch(new RegExp(`^${b.namespace}-${release}-[0-9a-f]{6}$`));
    expect(await consumers()).toEqual({
      [`${ia?.clusterID}/${ia?.operatorID}`]: [route(a)],
      [`${ib?.clusterID}/${ib?.operatorID}`]: [route(b)],
    });
  });

  it('refuses a third install given the first’s identity explicitly, and leaves the first’s entry untouched', async () => {
    const tailnetA = await a.objects.get('TailscaleTailnet', a.tailnet.name);
    const idA = (
      tailnetA?.status as { operator: { clusterID: string; operatorID: string; instance: string } }
    ).operator;
    const before = await getVipService(a.tailnet.api, serviceName);
    const entryBefore = readRegistry(before?.annotations)?.consumers[`${idA.clusterID}/${idA.operatorID}`];
    expect(entryBefore?.instance).toBe(idA.instance);

    clash = await startFaultWorld({
      prefix: 'inst-c',
      sim,
      release,
      clusterId: idA.clusterID,
      operatorId: idA.operatorID,
    });
    await clash.objects.createManualEndpoints('api-proxies', clash.tailnet.name, { app: 'api' });
    const refused = await clash.objects.waitCondition(
      'TailscaleTailnet',
      clash.tailnet.name,
      'Ready',
      (c) => c.status === 'False' && c.reason === 'IdentityCollision',
      120_000,
    );
    expect(refused.message).toContain(`${idA.clusterID}/${idA.operatorID}`);
    expect(refused.message).toContain(`instance ${idA.instance}`);
    expect(refused.message).toContain('unset operatorId and clusterId');
    await clash.objects.create(
      'TailscaleServices',
      'api',
      {
        tailnet: clash.tailnet.name,
        selector: { matchLabels: { app: 'api' } },
        vipService: { name: serviceName, ports: ['tcp:9999'], tags: ['tag:web'] },
      },
      clash.operator.labels,
    );
    const notReady = await clash.objects.waitCondition(
      'TailscaleServices',
      'api',
      'Ready',
      (c) => c.status === 'False',
      120_000,
    );
    expect(notReady.status).toBe('False');

    const after = await getVipService(a.tailnet.api, serviceName);
    expect(after?.ports).toEqual(before?.ports);
    expect(readRegistry(after?.annotations)?.consumers[`${idA.clusterID}/${idA.operatorID}`]).toEqual(
      entryBefore,
    );
    await a.objects.waitReady('TailscaleServices', 'api');

    // Gone again, it removes nothing of the first install's.
    await clash.objects.delete('TailscaleServices', 'api');
    await clash.objects.waitGone('TailscaleServices', 'api', 180_000);
    expect(readRegistry((await getVipService(a.tailnet.api, serviceName))?.annotations)?.consumers).toEqual(
      readRegistry(after?.annotations)?.consumers,
    );
  }, 600_000);

  it('keeps the second install’s owner Ready=False (SpecMismatch) while the first install’s spec is applied', async () => {
    const db = 'svc:db';
    const create = (w: FaultWorld, ports: string[]) =>
      w.objects.create(
        'TailscaleServices',
        'db',
        {
          tailnet: w.tailnet.name,
          selector: { matchLabels: { app: 'api' } },
          vipService: { name: db, ports, tags: ['tag:web'] },
        },
        w.operator.labels,
      );
    await create(a, ['tcp:5432']);
    await a.objects.waitReady('TailscaleServices', 'db', 180_000);
    const ownerA = readRegistry((await getVipService(a.tailnet.api, db))?.annotations)?.ownerOperator;

    await create(b, ['tcp:6543']);
    const mismatch = await b.objects.waitCondition(
      'TailscaleServices',
      'db',
      'Ready',
      (c) => c.reason === 'SpecMismatch',
      180_000,
    );
    expect(mismatch.status).toBe('False');
    expect(mismatch.message).toContain(`operator ${ownerA}`);
    expect(mismatch.message).toContain('align it with the owner');
    expect(mismatch.message).toContain('take ownership');
    expect((await getVipService(a.tailnet.api, db))?.ports).toEqual(['tcp:5432']);
    await a.objects.waitReady('TailscaleServices', 'db');

    // Aligned with the applied spec, it is Ready.
    await b.objects.patch('TailscaleServices', 'db', [
      { op: 'replace', path: '/spec/vipService/ports', value: ['tcp:5432'] },
    ]);
    await b.objects.waitReady('TailscaleServices', 'db', 180_000);

    for (const w of [b, a]) {
      await w.objects.delete('TailscaleServices', 'db');
      await w.objects.waitGone('TailscaleServices', 'db', 180_000);
    }
  }, 900_000);

  it('leaves nothing behind once both installs delete their objects, and leaks no credential', async () => {
    await detach(a);
    await detach(b);
    expect(await getVipService(a.tailnet.api, serviceName)).toBeNull();
    expect((await scanWorld(a)).leaks).toEqual([]);
    expect((await scanWorld(b, { namespace: 'operator-b' })).leaks).toEqual([]);
    if (clash) expect((await scanWorld(clash)).leaks).toEqual([]);
  }, 600_000);
});
