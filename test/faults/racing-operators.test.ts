/**
 * Case 5: two operators (two clusters: own namespaces, Temporal namespaces, workers and identities)
 * race on the same VIP services through one tailnet while the simulator loses their updates: a PUT
 * acknowledged but dropped, stored and overwritten at once by the previous value, or overwritten
 * 400 ms later (a peer's stale write landing after the writer's own read-back).
 *
 * Guards: read-modify-write verified by reading back and retried on a lost update, the VIP workflow's
 * second read 3 s after each write (the late overwrite: without it the registry stays wrong until the
 * 4 h recheck; found by this test, see vip-service.ts settleDelay), and the ownership rules: a VIP
 * service without our registry, or with Tailscale's own operator's owner reference, is never written
 * or deleted, and one Tailscale's operator shares survives our last consumer leaving.
 */
import { getVipService, putVipService } from '../../activities/tailscale/vip-services';
import {
  consumerCountAnnotation,
  readRegistry,
  tailscaleOwnerReferencesAnnotation,
} from '../../activities/vip/registry';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../simulators/tailscale/server';
import { eventually } from '../support/eventually';
import { uniqueName } from '../support/stack';
import { injectFault } from './support/tailscale-faults';
import { consumersOf, seededRng, startFaultWorld, type FaultWorld } from './support/world';
import { scanWorld } from './support/secrets-scan';

const seed = Number(process.env.FAULTS_SEED ?? 5);
const rounds = Number(process.env.FAULTS_RACE_ROUNDS ?? 20);

describe('two operators racing on shared VIP services under lost updates', () => {
  let sim: TailscaleSimulator;
  let east: FaultWorld;
  let west: FaultWorld;

  beforeAll(async () => {
    sim = await startTailscaleSimulator({ dnsSuffix: 'tail7ace.ts.net', seed });
    [east, west] = await Promise.all([
      startFaultWorld({ prefix: 'race-e', sim, clusterId: 'east', operatorId: 'op-east' }),
      startFaultWorld({
        prefix: 'race-w',
        sim,
        clusterId: 'west',
        operatorId: 'op-west',
        operator: { temporalNamespace: 'operator-b' },
      }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([east?.close(), west?.close()]);
    await sim?.close();
  });

  const objectName = (i: number) => `race-${i}`;
  const spec = (w: FaultWorld, serviceName: string, app: string) => ({
    tailnet: w.tailnet.name,
    selector: { matchLabels: { app } },
    vipService: { name: serviceName, ports: ['tcp:443'], tags: ['tag:web'] },
  });
  const attach = (w: FaultWorld, name: string, serviceName: string) =>
    w.objects.create('TailscaleServices', name, spec(w, serviceName, 'race'), w.operator.labels);

  /** Per service: its registry's consumers, consumer-count annotation, and whether the owner is a consumer. */
  const registryView = async (services: string[]) =>
    Object.fromEntries(
      await Promise.all(
        services.map(async (serviceName) => {
          const stored = await getVipService(east.tailnet.api, serviceName);
          if (!stored) return [serviceName, null] as const;
          const consumers = consumersOf(stored);
          return [
            serviceName,
            {
              consumers,
              count: stored.annotations?.[consumerCountAnnotation],
              ownerIsConsumer: Object.keys(consumers).includes(
                readRegistry(stored.annotations)?.ownerOperator ?? '',
              ),
            },
          ] as const;
        }),
      ),
    );

  it('ends every round with registries exactly matching the live consumers', async () => {
    const services = Array.from({ length: 6 }, () => `svc:${uniqueName('shared')}`);
    await east.objects.createManualEndpoints('race-proxies', east.tailnet.name, { app: 'race' });
    await west.objects.createManualEndpoints('race-proxies', west.tailnet.name, { app: 'race' });
    const drop = await injectFault(sim.admin, {
      kind: 'lost-update',
      mode: 'drop',
      method: 'PUT',
      path: '**/vip-services/svc:shared-*',
      rate: 0.2,
    });
    // A peer's stale write landing at once, and one landing after the writer's own read-back.
    const revert = await injectFault(sim.admin, {
      kind: 'lost-update',
      mode: 'revert',
      method: 'PUT',
      path: '**/vip-services/svc:shared-*',
      rate: 0.1,
    });
    const lateRevert = await injectFault(sim.admin, {
      kind: 'lost-update',
      mode: 'revert',
      revertAfterMs: 400,
      method: 'PUT',
      path: '**/vip-services/svc:shared-*',
      rate: 0.1,
    });

    const worlds = { east: () => east, west: () => west } as const;
    const present = { east: new Set<number>(), west: new Set<number>() };
    const rng = seededRng(seed);
    for (let round = 0; round < rounds; round++) {
      // Round 0 attaches everything on both sides at once; later rounds flip coins.
      const moves: Promise<unknown>[] = [];
      for (const side of ['east', 'west'] as const) {
        const w = worlds[side]();
        services.forEach((serviceName, i) => {
          const has = present[side].has(i);
          const want = round === 0 ? true : rng.chance(0.5) ? !has : has;
          if (want && !present[side].has(i)) {
            present[side].add(i);
            moves.push(attach(w, objectName(i), serviceName));
          } else if (!want && present[side].has(i)) {
            present[side].delete(i);
            moves.push(w.objects.delete('TailscaleServices', objectName(i)));
          }
        });
      }
      await Promise.all(moves);

      for (const side of ['east', 'west'] as const) {
        const w = worlds[side]();
        for (let i = 0; i < services.length; i++) {
          if (present[side].has(i)) await w.objects.waitReady('TailscaleServices', objectName(i), 180_000);
          else await w.objects.waitGone('TailscaleServices', objectName(i), 180_000);
        }
      }
      const expected = Object.fromEntries(
        services.map((serviceName, i) => {
          const consumers: Record<string, string[]> = {};
          if (present.east.has(i))
            consumers[east.consumerKey] = [`services/${east.namespace}/${objectName(i)}`];
          if (present.west.has(i))
            consumers[west.consumerKey] = [`services/${west.namespace}/${objectName(i)}`];
          const n = Object.keys(consumers).length;
          return [serviceName, n ? { consumers, count: String(n), ownerIsConsumer: true } : null];
        }),
      );
      // Exact once the operators' late read-backs have repaired any write a stale peer undid.
      let view: Record<string, unknown> = {};
      await eventually(
        `registries exact after round ${round}`,
        async () => {
          view = await registryView(services);
          return JSON.stringify(view) === JSON.stringify(expected) ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      ).catch(() => undefined);
      expect({ round, registries: view }).toEqual({ round, registries: expected });
    }
    expect(await drop.fired()).toBeGreaterThan(0);
    expect(await revert.fired()).toBeGreaterThan(0);
    expect(await lateRevert.fired()).toBeGreaterThan(0);
    process.stdout.write(
      `racing: ${rounds} rounds over ${services.length} shared services; lost updates injected: ` +
        `${await drop.fired()} dropped, ${await revert.fired()} reverted, ${await lateRevert.fired()} reverted late\n`,
    );
  }, 900_000);

  it('never writes or deletes a VIP service created by someone else, and keeps one Tailscale’s operator shares', async () => {
    const plain = `svc:${uniqueName('foreign-plain')}`;
    const tsOwned = `svc:${uniqueName('foreign-ts')}`;
    const shared = `svc:${uniqueName('shared-ts')}`;
    const tailscaleRef = { operatorID: 'nTailscaleK8sOp', resource: { kind: 'Service', name: 'web' } };
    await putVipService(east.tailnet.api, { name: plain, ports: ['tcp:80'], tags: ['tag:other'] });
    await putVipService(east.tailnet.api, {
      name: tsOwned,
      ports: ['tcp:80'],
      tags: ['tag:other'],
      annotations: { [tailscaleOwnerReferencesAnnotation]: JSON.stringify({ ownerRefs: [tailscaleRef] }) },
    });
    const before = {
      plain: await getVipService(east.tailnet.api, plain),
      tsOwned: await getVipService(east.tailnet.api, tsOwned),
    };
    await sim.admin.clearFaults();
    // Counts every write to the two foreign services (rate 0: it never fires).
    const writes = await Promise.all(
      ['PUT', 'DELETE'].flatMap((method) =>
        [plain, tsOwned].map((name) =>
          injectFault(sim.admin, {
            kind: 'error',
            status: 500,
            method,
            path: `**/vip-services/${name}`,
            rate: 0,
          }),
        ),
      ),
    );

    for (const w of [east, west]) {
      await attach(w, 'plain', plain);
      await attach(w, 'ts-owned', tsOwned);
      await attach(w, 'shared', shared);
    }
    for (const w of [east, west]) {
      for (const name of ['plain', 'ts-owned']) {
        const c = await w.objects.waitCondition(
          'TailscaleServices',
          name,
          'VIPServiceReady',
          (x) => x.status === 'False',
        );
        expect(c.reason).toBe('NotOwned');
        expect(c.message).toContain('left untouched');
      }
      await w.objects.waitReady('TailscaleServices', 'shared', 180_000);
    }
    // Tailscale's operator joins the shared service, as it does: appending its owner reference.
    const current = await getVipService(east.tailnet.api, shared);
    if (!current) throw new Error(`${shared} missing`);
    const refs = JSON.parse(
      current.annotations?.[tailscaleOwnerReferencesAnnotation] ?? '{"ownerRefs":[]}',
    ) as {
      ownerRefs: unknown[];
    };
    await putVipService(east.tailnet.api, {
      ...current,
      annotations: {
        ...current.annotations,
        [tailscaleOwnerReferencesAnnotation]: JSON.stringify({
          ownerRefs: [...refs.ownerRefs, tailscaleRef],
        }),
      },
    });

    for (const w of [east, west]) {
      for (const name of ['plain', 'ts-owned', 'shared']) await w.objects.delete('TailscaleServices', name);
    }
    for (const w of [east, west]) {
      for (const name of ['plain', 'ts-owned', 'shared'])
        await w.objects.waitGone('TailscaleServices', name, 180_000);
    }
    expect(await getVipService(east.tailnet.api, plain)).toEqual(before.plain);
    expect(await getVipService(east.tailnet.api, tsOwned)).toEqual(before.tsOwned);
    for (const probe of writes) expect(await probe.matched()).toBe(0);
    // The shared one stays for Tailscale's operator, with our consumers gone and its reference intact:
    // once each VIP workflow's read 3 s after its last write has undone a peer's stale overwrite.
    const left = await eventually(
      `${shared} without our consumers`,
      async () => {
        const stored = await getVipService(east.tailnet.api, shared);
        return stored && Object.keys(consumersOf(stored)).length === 0 ? stored : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    ).catch(() => getVipService(east.tailnet.api, shared));
    expect(left).not.toBeNull();
    expect(consumersOf(left ?? undefined)).toEqual({});
    expect(JSON.parse(left?.annotations?.[tailscaleOwnerReferencesAnnotation] ?? '{}')).toEqual({
      ownerRefs: [tailscaleRef],
    });
  }, 600_000);

  it('leaks no credential into either operator’s logs or workflow histories (case 8)', async () => {
    expect((await scanWorld(east)).leaks).toEqual([]);
    expect((await scanWorld(west, { namespace: 'operator-b' })).leaks).toEqual([]);
  });
});
