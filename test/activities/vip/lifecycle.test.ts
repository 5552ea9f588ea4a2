import { TailscaleClient } from '../../../activities/tailscale/client';
import { createAuthKey } from '../../../activities/tailscale/keys';
import { getVipService, putVipService } from '../../../activities/tailscale/vip-services';
import {
  attachVipService,
  detachVipService,
  sweepVipServices,
  type LifecycleOptions,
} from '../../../activities/vip/lifecycle';
import {
  IdentityCollisionError,
  readRegistry,
  registryAnnotation,
  tailscaleOwnerReferencesAnnotation,
} from '../../../activities/vip/registry';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../../simulators/tailscale/server';

const spec = { ports: ['tcp:443'], tags: ['tag:web'] };

/** A simulator of its own and a client of an OAuth client with the operator's scopes, over HTTP. */
async function simulatorWithClient(
  dnsSuffix: string,
  seed: number,
): Promise<{ sim: TailscaleSimulator; client: TailscaleClient }> {
  const sim = await startTailscaleSimulator({ dnsSuffix, seed });
  const oauth = await sim.admin.createOAuthClient({
    scopes: ['devices:core', 'auth_keys', 'services'],
    tags: ['tag:k8s'],
  });
  return {
    sim,
    client: new TailscaleClient({ clientId: oauth.id, clientSecret: oauth.secret, baseUrl: sim.url }),
  };
}
const minute = 60_000;

describe('VIP service lifecycle through the shared registry, against the Tailscale simulator over HTTP', () => {
  let sim: TailscaleSimulator;
  let client: TailscaleClient;
  let clock = Date.now();
  const operator = (self: string, extra: Partial<LifecycleOptions> = {}): LifecycleOptions => ({
    client,
    self,
    refreshAfterMs: 15 * minute,
    now: () => clock,
    random: () => 0,
    ...extra,
  });

  beforeAll(async () => {
    ({ sim, client } = await simulatorWithClient('tail9f00.ts.net', 7));
  });
  afterAll(() => sim.close());
  beforeEach(async () => {
    await sim.admin.clearFaults();
    clock = Date.now();
  });

  const registryOf = async (name: string) => readRegistry((await getVipService(client, name))?.annotations);

  it('creates once, attaches the second operator, keeps the service until the last consumer detaches', async () => {
    const a = operator('east/op-a');
    const b = operator('west/op-b');
    const created = await attachVipService(a, {
      serviceName: 'svc:shared',
      spec,
      routes: ['services/default/web'],
    });
    expect(created.outcome).toBe('Created');
    expect(created.addresses).toHaveLength(2);

    const attached = await attachVipService(b, {
      serviceName: 'svc:shared',
      spec,
      routes: ['services/prod/web'],
    });
    expect(attached.outcome).toBe('Attached');
    expect(attached.addresses).toEqual(created.addresses);
    expect(Object.keys((await registryOf('svc:shared'))?.consumers ?? {}).sort()).toEqual([
      'east/op-a',
      'west/op-b',
    ]);

    expect((await detachVipService(a, 'svc:shared')).outcome).toBe('Detached');
    const afterA = await registryOf('svc:shared');
    expect(Object.keys(afterA?.consumers ?? {})).toEqual(['west/op-b']);
    expect(afterA?.ownerOperator).toBe('west/op-b');

    expect((await detachVipService(b, 'svc:shared')).outcome).toBe('Deleted');
    expect(await getVipService(client, 'svc:shared')).toBeNull();
  });

  it('never modifies or deletes a service created outside the registry', async () => {
    await putVipService(client, {
      name: 'svc:foreign',
      ports: ['tcp:80'],
      tags: ['tag:other'],
      annotations: { 'tailscale.com/owner-references': '{"ownerRefs":[{"operatorID":"nTailscaleOp"}]}' },
    });
    const before = await getVipService(client, 'svc:foreign');
    await sim.admin.resetRequestCounts();
    const result = await attachVipService(operator('east/op-a'), {
      serviceName: 'svc:foreign',
      spec,
      routes: ['r'],
    });
    expect(result.outcome).toBe('NotOwned');
    expect(result.message).toContain('Tailscale Kubernetes operator');
    expect((await detachVipService(operator('east/op-a'), 'svc:foreign')).outcome).toBe('NotOwned');
    expect((await sim.admin.requestCounts()).writes).toBe(0);
    expect(await getVipService(client, 'svc:foreign')).toEqual(before);
  });

  it("keeps Tailscale's operator's owner reference beside ours, and the service while it is listed", async () => {
    const a = operator('east/op-a');
    await attachVipService(a, { serviceName: 'svc:both', spec, routes: ['services/default/both'] });
    const ownerRefs = async () =>
      JSON.parse(
        (await getVipService(client, 'svc:both'))?.annotations?.[tailscaleOwnerReferencesAnnotation] ??
          'null',
      ) as unknown;
    expect(await ownerRefs()).toEqual({ ownerRefs: [{ operatorID: 'east/op-a' }] });

    // Tailscale's operator shares a service by appending itself to the owner references (§2.7).
    const shared = await getVipService(client, 'svc:both');
    if (!shared) throw new Error('svc:both missing');
    await putVipService(client, {
      ...shared,
      annotations: {
        ...shared.annotations,
        [tailscaleOwnerReferencesAnnotation]: JSON.stringify({
          ownerRefs: [{ operatorID: 'east/op-a' }, { operatorID: 'nTailscaleOp' }],
        }),
      },
    });
    // A re-check that writes (routes changed) keeps its entry.
    await attachVipService(a, { serviceName: 'svc:both', spec, routes: ['services/default/both', 'x'] });
    expect(await ownerRefs()).toEqual({
      ownerRefs: [{ operatorID: 'east/op-a' }, { operatorID: 'nTailscaleOp' }],
    });

    // Our last consumer leaves: only our entry goes, and the service stays for Tailscale's operator.
    expect((await detachVipService(a, 'svc:both')).outcome).toBe('Detached');
    expect(await ownerRefs()).toEqual({ ownerRefs: [{ operatorID: 'nTailscaleOp' }] });
    expect(await getVipService(client, 'svc:both')).not.toBeNull();
  });

  it('makes no write when the registry already says what it would write', async () => {
    const a = operator('east/op-a');
    await attachVipService(a, { serviceName: 'svc:idle', spec, routes: ['services/default/idle'] });
    await sim.admin.resetRequestCounts();
    for (let i = 0; i < 5; i++) {
      expect(
        (await attachVipService(a, { serviceName: 'svc:idle', spec, routes: ['services/default/idle'] }))
          .outcome,
      ).toBe('UpToDate');
    }
    expect((await sim.admin.requestCounts()).writes).toBe(0);
    await detachVipService(a, 'svc:idle');
  });

  it('refreshes lastSeen on re-check only when no device of ours is listed to vouch for us', async () => {
    const a = operator('east/op-a');
    const withDevices = { spec, routes: ['services/default/dev'], devices: ['node-1'] };
    const bare = { spec, routes: ['services/default/bare'] };
    await attachVipService(a, { serviceName: 'svc:dev', ...withDevices });
    await attachVipService(a, { serviceName: 'svc:bare', ...bare });
    await sim.admin.resetRequestCounts();
    clock += 4 * 60 * minute;
    expect((await attachVipService(a, { serviceName: 'svc:dev', ...withDevices })).outcome).toBe('UpToDate');
    expect((await sim.admin.requestCounts()).writes).toBe(0);
    expect((await attachVipService(a, { serviceName: 'svc:bare', ...bare })).outcome).toBe('Updated');
    expect((await registryOf('svc:bare'))?.consumers['east/op-a']?.lastSeen).toBe(
      new Date(clock).toISOString(),
    );
    await detachVipService(a, 'svc:dev');
    await detachVipService(a, 'svc:bare');
  });

  it('applies port and tag changes of the owner, and reports a non-owner whose spec differs', async () => {
    const a = operator('east/op-a');
    const b = operator('west/op-b');
    await attachVipService(a, { serviceName: 'svc:spec', spec, routes: ['a'] });
    const updated = await attachVipService(a, {
      serviceName: 'svc:spec',
      spec: { ports: ['tcp:443', 'tcp:80'], tags: ['tag:web', 'tag:api'] },
      routes: ['a'],
    });
    expect(updated.outcome).toBe('Updated');
    const stored = await getVipService(client, 'svc:spec');
    expect(stored?.ports).toEqual(['tcp:443', 'tcp:80']);
    expect(stored?.tags).toEqual(['tag:web', 'tag:api']);

    const mismatch = await attachVipService(b, { serviceName: 'svc:spec', spec, routes: ['b'] });
    expect(mismatch.outcome).toBe('SpecMismatch');
    expect(mismatch.message).toContain('east/op-a');
    expect((await getVipService(client, 'svc:spec'))?.ports).toEqual(['tcp:443', 'tcp:80']);
    await detachVipService(b, 'svc:spec');
    await detachVipService(a, 'svc:spec');
  });

  it('ends 20 concurrent attach/detach rounds of 3 operators with the registry exactly matching, despite lost updates', async () => {
    await sim.admin.addFault({
      kind: 'lost-update',
      mode: 'drop',
      method: 'PUT',
      path: '**/svc:race',
      rate: 0.3,
    });
    const ops = ['east/a', 'west/b', 'north/c'].map((key) =>
      operator(key, { random: Math.random, maxAttempts: 30 }),
    );
    type Move = readonly [LifecycleOptions, boolean];
    const wrote = new Set(['Created', 'Attached', 'Updated', 'Detached', 'Deleted']);
    // Concurrent moves, then the VIP workflow's settle check: each operator whose last move wrote runs
    // it again (attach and detach are idempotent), until a pass writes nothing. Without it a peer's PUT
    // based on a read from before our write, landing after our read-back, silently undoes our write.
    const moveAndSettle = async (moves: Move[]): Promise<number> => {
      let pending = moves;
      for (let pass = 0; pending.length && pass < 6; pass++) {
        const outcomes = await Promise.all(
          pending.map(async ([op, attach]) =>
            attach
              ? (await attachVipService(op, { serviceName: 'svc:race', spec, routes: [`${op.self}/route`] }))
                  .outcome
              : (await detachVipService(op, 'svc:race')).outcome,
          ),
        );
        pending = pending.filter((_, i) => wrote.has(outcomes[i] ?? ''));
        if (!pending.length) return pass;
      }
      return -1;
    };
    const expected = new Set<string>();
    for (let round = 0; round < 20; round++) {
      // Each operator flips a coin: attach or detach, all at once.
      const moves = ops.map(
        (op) => [op, (round * 7 + op.self.length * 3 + round * round) % 3 !== 0] as const,
      );
      expect(await moveAndSettle(moves)).toBeGreaterThanOrEqual(0);
      for (const [op, attach] of moves) {
        if (attach) expected.add(op.self);
        else expected.delete(op.self);
      }
      const registry = await registryOf('svc:race');
      expect(Object.keys(registry?.consumers ?? {}).sort()).toEqual([...expected].sort());
      if (!expected.size) expect(await getVipService(client, 'svc:race')).toBeNull();
    }
    const [rule] = await sim.admin.listFaults();
    expect(rule?.fired).toBeGreaterThan(0);
    expect(await moveAndSettle(ops.map((op) => [op, false] as const))).toBeGreaterThanOrEqual(0);
    expect(await getVipService(client, 'svc:race')).toBeNull();
  });

  it('reads again before writing when its read has grown older than the bound (a starved worker)', async () => {
    const name = 'svc:starved';
    await attachVipService(operator('east/op-a'), { serviceName: name, spec, routes: ['services/a/web'] });
    // op-b's first GET of the service is answered, then its worker stalls for 2 s: meanwhile op-c
    // attaches, writes, and is done checking. A write from op-b's old read would drop op-c's entry.
    let stalled = false;
    const slow = Object.create(client) as TailscaleClient;
    slow.request = async (...args: Parameters<TailscaleClient['request']>) => {
      const response = await client.request(...args);
      if (!stalled && args[0] === 'GET' && args[1].endsWith(`/${name}`)) {
        stalled = true;
        await attachVipService(operator('north/op-c'), {
          serviceName: name,
          spec,
          routes: ['services/c/web'],
        });
        clock += 2000;
      }
      return response;
    };
    const b = await attachVipService(operator('west/op-b', { client: slow }), {
      serviceName: name,
      spec,
      routes: ['services/b/web'],
    });
    expect(stalled).toBe(true);
    expect(b.outcome).toBe('Attached');
    expect(Object.keys((await registryOf(name))?.consumers ?? {}).sort()).toEqual([
      'east/op-a',
      'north/op-c',
      'west/op-b',
    ]);
    for (const self of ['east/op-a', 'north/op-c', 'west/op-b']) await detachVipService(operator(self), name);
    expect(await getVipService(client, name)).toBeNull();
  });

  it('sweeps a stale consumer, keeps one whose device is alive, and writes nothing when idle', async () => {
    const oauthKey = await createAuthKey(client, { preauthorized: true, tags: ['tag:k8s'] });
    const device = await sim.admin.registerDevice({ authKey: oauthKey.key, hostname: 'proxy-0' });
    const a = operator('east/op-a');
    await attachVipService(a, { serviceName: 'svc:swept', spec, routes: ['a'] });
    await attachVipService(operator('gone/op-x'), { serviceName: 'svc:swept', spec, routes: ['x'] });
    await attachVipService(operator('alive/op-y'), {
      serviceName: 'svc:swept',
      spec,
      routes: ['y'],
      devices: [device.nodeId],
    });

    clock += 31 * minute;
    const sweep = await sweepVipServices({ ...a, staleAfterMs: 30 * minute });
    expect(sweep.removed).toEqual([{ service: 'svc:swept', consumers: ['gone/op-x'] }]);
    expect(Object.keys((await registryOf('svc:swept'))?.consumers ?? {}).sort()).toEqual([
      'alive/op-y',
      'east/op-a',
    ]);

    await sim.admin.resetRequestCounts();
    const idle = await sweepVipServices({ ...a, staleAfterMs: 30 * minute });
    expect(idle.writes).toBe(0);
    expect((await sim.admin.requestCounts()).writes).toBe(0);
    expect((await getVipService(client, 'svc:swept'))?.annotations?.[registryAnnotation]).toBeDefined();
  });

  describe('two installs under one identity (instances)', () => {
    const self = 'cluster/operator';
    const first = () => operator(self, { instance: 'install-1', staleAfterMs: 30 * minute });
    const second = () => operator(self, { instance: 'install-2', staleAfterMs: 30 * minute });

    it("refuses to overwrite or remove another live install's entry, and changes nothing", async () => {
      await attachVipService(first(), { serviceName: 'svc:collide', spec, routes: ['services/a/api'] });
      const before = await getVipService(client, 'svc:collide');
      expect(readRegistry(before?.annotations)?.consumers[self]?.instance).toBe('install-1');
      await sim.admin.resetRequestCounts();

      const refused = attachVipService(second(), {
        serviceName: 'svc:collide',
        spec: { ...spec, ports: ['tcp:9999'] },
        routes: ['services/b/api'],
      });
      await expect(refused).rejects.toThrow(IdentityCollisionError);
      await expect(refused).rejects.toThrow(/instance install-1.*unset operatorId and clusterId/);
      const left = await detachVipService(second(), 'svc:collide');
      expect(left.outcome).toBe('NotAttached');
      expect(left.message).toContain('another live install');
      expect((await sim.admin.requestCounts()).writes).toBe(0);
      expect(await getVipService(client, 'svc:collide')).toEqual(before);

      expect((await detachVipService(first(), 'svc:collide')).outcome).toBe('Deleted');
    });

    it('takes over the entry of an instance no longer live, and adopts one written before instances', async () => {
      await attachVipService(first(), { serviceName: 'svc:handover', spec, routes: ['r1'] });
      clock += 31 * minute;
      expect(
        (await attachVipService(second(), { serviceName: 'svc:handover', spec, routes: ['r2'] })).outcome,
      ).toBe('Updated');
      expect((await registryOf('svc:handover'))?.consumers[self]).toMatchObject({
        instance: 'install-2',
        routes: ['r2'],
      });

      await attachVipService(operator(self), { serviceName: 'svc:legacy', spec, routes: ['r'] });
      expect((await registryOf('svc:legacy'))?.consumers[self]?.instance).toBeUndefined();
      expect(
        (await attachVipService(first(), { serviceName: 'svc:legacy', spec, routes: ['r'] })).outcome,
      ).toBe('Updated');
      expect((await registryOf('svc:legacy'))?.consumers[self]?.instance).toBe('install-1');
      for (const name of ['svc:handover', 'svc:legacy']) await detachVipService(first(), name);
    });

    it("counts a quiet entry as live while one of its devices is, and never refreshes another's entry", async () => {
      const key = await createAuthKey(client, { preauthorized: true, tags: ['tag:k8s'] });
      const device = await sim.admin.registerDevice({ authKey: key.key, hostname: 'install-1-proxy' });
      await attachVipService(first(), {
        serviceName: 'svc:quiet',
        spec,
        routes: ['r1'],
        devices: [device.nodeId],
      });
      clock += 31 * minute;
      await expect(
        attachVipService(second(), { serviceName: 'svc:quiet', spec, routes: ['r2'] }),
      ).rejects.toThrow(IdentityCollisionError);
      const sweep = await sweepVipServices({ ...second(), staleAfterMs: 30 * minute });
      expect(sweep.refreshed).not.toContain('svc:quiet');
      expect((await registryOf('svc:quiet'))?.consumers[self]).toMatchObject({
        instance: 'install-1',
        routes: ['r1'],
      });
    });
  });
});

describe("the sweeper's refresh of this operator's own lastSeen, against the Tailscale simulator over HTTP", () => {
  // A simulator of its own: the pass lists every service of the tailnet, so none may be left over
  // from the tests above, and every write counted is the sweeper's.
  let sim: TailscaleSimulator;
  let client: TailscaleClient;
  let clock = Date.now();
  const self = 'east/op-a';
  const refreshAfterMs = 15 * minute;
  const sweeper = (): LifecycleOptions & { staleAfterMs: number } => ({
    client,
    self,
    refreshAfterMs,
    staleAfterMs: 30 * minute,
    now: () => clock,
    random: () => 0,
  });
  const lastSeenOf = async (name: string) =>
    readRegistry((await getVipService(client, name))?.annotations)?.consumers[self]?.lastSeen;

  beforeAll(async () => {
    ({ sim, client } = await simulatorWithClient('tail9f01.ts.net', 8));
  });
  afterAll(() => sim.close());

  it('rewrites only the entry older than the refresh threshold, with one write, then stays quiet', async () => {
    const start = Date.now();
    clock = start;
    await attachVipService(sweeper(), { serviceName: 'svc:old', spec, routes: ['services/default/old'] });
    clock = start + 10 * minute;
    await attachVipService(sweeper(), { serviceName: 'svc:new', spec, routes: ['services/default/new'] });
    const attachedNew = await lastSeenOf('svc:new');

    // 10 minutes on, svc:old's entry is younger than the threshold: read, nothing written.
    await sim.admin.resetRequestCounts();
    const fresh = await sweepVipServices(sweeper());
    expect(fresh).toMatchObject({ services: 2, writes: 0, refreshed: [], removed: [] });
    expect((await sim.admin.requestCounts()).writes).toBe(0);
    expect(await lastSeenOf('svc:old')).toBe(new Date(start).toISOString());

    // 16 minutes on, svc:old's entry is past it (svc:new's, 6 minutes old, is not): one write.
    clock = start + 16 * minute;
    await sim.admin.resetRequestCounts();
    const stale = await sweepVipServices(sweeper());
    expect(stale).toMatchObject({ services: 2, writes: 1, refreshed: ['svc:old'], removed: [], deleted: [] });
    const counts = await sim.admin.requestCounts();
    expect(counts.writes).toBe(1);
    expect(counts.routes['PUT /api/v2/tailnet/-/vip-services/{name}'] ?? 0).toBe(1);
    expect(await lastSeenOf('svc:old')).toBe(new Date(clock).toISOString());
    expect(await lastSeenOf('svc:new')).toBe(attachedNew);
    // The refresh rewrites lastSeen only: routes, ports, tags and addresses are as they were.
    const old = await getVipService(client, 'svc:old');
    expect(old).toMatchObject({ ports: spec.ports, tags: spec.tags });
    expect(readRegistry(old?.annotations)?.consumers[self]?.routes).toEqual(['services/default/old']);

    // Refreshed, it is fresh again: the next pass writes nothing.
    await sim.admin.resetRequestCounts();
    expect((await sweepVipServices(sweeper())).writes).toBe(0);
    expect((await sim.admin.requestCounts()).writes).toBe(0);
  });

  it('leaves an old entry alone while one of our listed devices is alive to vouch for us', async () => {
    const key = await createAuthKey(client, { preauthorized: true, tags: ['tag:k8s'] });
    const device = await sim.admin.registerDevice({ authKey: key.key, hostname: 'proxy-0' });
    const start = Date.now();
    clock = start;
    await attachVipService(sweeper(), {
      serviceName: 'svc:vouched',
      spec,
      routes: ['services/default/vouched'],
      devices: [device.nodeId],
    });
    clock = start + 4 * 60 * minute;
    await sim.admin.resetRequestCounts();
    const sweep = await sweepVipServices(sweeper());
    expect(sweep.refreshed).not.toContain('svc:vouched');
    expect(await lastSeenOf('svc:vouched')).toBe(new Date(start).toISOString());
  });
});
