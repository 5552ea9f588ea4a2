/**
 * Case 3: the watchers lose the API server. Their kubeconfig points at a proxy that can cut every
 * connection (an outage), drop the open watch streams (resets), and "compact" (every watch from an
 * older resourceVersion gets a real 410 Gone from the API server). The API server itself closes each
 * watch after 10–20 s (--min-request-timeout=10). The worker talks to the API server directly.
 *
 * Guards: the informers' restart with backoff, resuming from the last resourceVersion (so changes
 * made while disconnected are replayed), relisting on 410 Gone (so changes compacted away are found by
 * the list, deletions included), and the level-triggered watchers (the newest state is what is sent).
 * Resync is 10 min away, so it is not what saves the changes. Shown to fail (locally, once) with the
 * informer keeping its resourceVersion on 410: after the compaction it never sees another event.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../support/eventually';
import { getVipService } from '../../activities/tailscale/vip-services';
import { testKubeConfig, stackInfo, uniqueName } from '../support/stack';
import { startApiServerProxy, type ApiServerProxy } from './support/apiserver-proxy';
import { scanWorld } from './support/secrets-scan';
import { consumersOf, startFaultWorld, vipServicesNamed, type FaultWorld } from './support/world';

describe('watches broken: outage, 410 Gone after compaction, dropped streams', () => {
  let proxy: ApiServerProxy;
  let w: FaultWorld;

  beforeAll(async () => {
    proxy = await startApiServerProxy(
      testKubeConfig(),
      join(stackInfo().dir, `watchers-proxy-${process.pid}.kubeconfig`),
    );
    w = await startFaultWorld({
      prefix: 'watch',
      operator: { watchersEnv: { KUBECONFIG: proxy.kubeconfigPath } },
    });
  });
  afterAll(async () => {
    await w?.close();
    await proxy?.close();
  });

  const spec = (app: string, ports = ['tcp:443']) => ({
    tailnet: w.tailnet.name,
    selector: { matchLabels: { app } },
    vipService: { ports, tags: ['tag:web'] },
  });
  const create = (name: string, app = name) =>
    w.objects.create('TailscaleServices', name, spec(app), w.operator.labels);
  const setPorts = (name: string, ports: string[]) =>
    w.objects.patch('TailscaleServices', name, [
      { op: 'replace', path: '/spec/vipService/ports', value: ports },
    ]);

  it('reconciles every change made while the watchers were cut off, compacted away or reset', async () => {
    const [a, b, c, d, e, f, g, h] = [1, 2, 3, 4, 5, 6, 7, 8].map(() => uniqueName('w')) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    for (const name of [a, b, c, e, f, g, h]) {
      await w.objects.createManualEndpoints(`${name}-proxies`, w.tailnet.name, { app: name });
    }
    // d selects endpoints labelled later (during an outage): the endpoints dependency informer's path.
    await w.objects.createManualEndpoints(`${d}-proxies`, w.tailnet.name, { app: 'not-yet' });
    for (const name of [a, c, d]) await create(name);
    await w.objects.waitReady('TailscaleServices', a);
    await w.objects.waitReady('TailscaleServices', c);
    await w.objects.waitCondition('TailscaleServices', d, 'Ready', (x) => x.reason === 'NoEndpointsSelected');

    // The watchers have tried to reconnect, and been refused, `n` more times: their restart path ran.
    const refusedMore = async (n: number) => {
      const from = proxy.stats.refused;
      await eventually(
        `${n} more refused reconnections`,
        () => (proxy.stats.refused >= from + n ? true : undefined),
        { timeoutMs: 60_000 },
      );
    };

    // 1. Outage: every connection cut, new ones refused, until the watchers' reconnections have failed
    // several times over.
    proxy.cut();
    await create(b);
    await setPorts(a, ['tcp:443', 'tcp:8443']);
    await w.objects.delete('TailscaleServices', c);
    await w.objects.patch('TailscaleEndpoints', `${d}-proxies`, [
      { op: 'replace', path: '/metadata/labels', value: { app: d } },
    ]);
    await refusedMore(10);
    proxy.restore();

    // 2. Outage, then compaction: the resourceVersions the informers hold are gone (410 Gone).
    proxy.cut();
    await create(e);
    await w.objects.delete('TailscaleServices', b);
    await setPorts(d, ['tcp:80']);
    await refusedMore(3);
    await proxy.compact();
    proxy.restore();

    // 3. Flapping: watch streams reset as soon as the dropped ones are open again, while objects keep
    // changing.
    for (let i = 0, reopened = proxy.stats.watches; i < 12; i++) {
      if (i === 2) await create(f);
      if (i === 4) await create(g);
      if (i === 6) await w.objects.delete('TailscaleServices', e);
      if (i === 8) await setPorts(f, ['tcp:443', 'tcp:9443']);
      if (i === 10) await create(h);
      const watches = reopened;
      await eventually(
        'the dropped watches open again',
        () => (proxy.stats.watches >= watches ? true : undefined),
        { timeoutMs: 60_000 },
      );
      reopened = proxy.stats.watches + proxy.dropWatches();
    }

    const live = [a, d, f, g, h];
    for (const name of live) await w.objects.waitReady('TailscaleServices', name, 180_000);
    for (const name of [b, c, e]) await w.objects.waitGone('TailscaleServices', name, 180_000);
    expect((await w.objects.get('TailscaleServices', a))?.metadata.generation).toBe(2);

    const services = await vipServicesNamed(w, 'svc:');
    expect(services.map((s) => s.name).sort()).toEqual(live.map((x) => `svc:${x}`).sort());
    for (const name of live) {
      expect(consumersOf(services.find((s) => s.name === `svc:${name}`))).toEqual({
        [w.consumerKey]: [`services/${w.namespace}/${name}`],
      });
    }
    expect((await getVipService(w.tailnet.api, `svc:${a}`))?.ports).toEqual(['tcp:443', 'tcp:8443']);
    expect((await getVipService(w.tailnet.api, `svc:${d}`))?.ports).toEqual(['tcp:80']);
    expect((await getVipService(w.tailnet.api, `svc:${f}`))?.ports).toEqual(['tcp:443', 'tcp:9443']);
    for (const name of [b, c, e]) expect(await w.objects.advertised(`${name}-proxies`)).toEqual([]);

    // The faults really happened to the watchers.
    expect(proxy.stats.refused).toBeGreaterThan(0);
    expect(proxy.stats.expired).toBeGreaterThan(0);
    expect(proxy.stats.dropped).toBeGreaterThan(10);
    const log = readFileSync(join(w.operator.logDir, 'watchers-0.log'), 'utf8');
    expect(log).toContain('watch expired (410 Gone); relisting');
    expect(log).toContain('watch failed; restarting');
    expect(w.operator.watchers.child.exitCode).toBeNull();
  }, 600_000);

  it('leaks no credential into its logs or workflow histories (case 8)', async () => {
    expect((await scanWorld(w)).leaks).toEqual([]);
  });
});
