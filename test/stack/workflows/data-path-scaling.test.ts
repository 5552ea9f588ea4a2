/**
 * Acceptance (c) of the data path: a client streams HTTP requests through a VIP service while its
 * proxies scale 2 → 3, one replica's pod and the operator's worker are killed and come back, and the
 * proxies scale down to 1. An approved host remains throughout, so no request may fail; the backend
 * sees each request's source (the proxy's pod IP on loopback), which shows traffic reached the new and
 * the restarted replicas and, after the scale-down, only the one left.
 */
import { createEchoServices, startDataPath, vipAddressOf, type DataPath } from '../../support/data-path';
import { echoGet } from '../../../tools/echo-client';
import { eventually } from '../../support/eventually';
import { proxiesOf } from '../../support/proxies';
import { uniqueName } from '../../support/stack';
import { proxyParents } from './tailscale-endpoints-harness';
import { loopbackFor } from '../../../simulators/proxy/dataplane/addresses';

const octet = 32;
const clients = 3;

/** Requests sent back to back by `clients` loops until stopped; every answer's source and every failure. */
function streamRequests(host: string, port: number) {
  const sources: string[] = [];
  const failures: string[] = [];
  let stopped = false;
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; !stopped; i++) {
      try {
        const { answer } = await echoGet({ host, port, path: `/stream/${c}/${i}` });
        if (answer.path !== `/stream/${c}/${i}`) failures.push(`wrong answer ${answer.path}`);
        else sources.push(answer.remote);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  });
  return {
    sources,
    failures,
    /** Resolves once `count` more requests have succeeded. */
    more: (count: number) => {
      const target = sources.length + count;
      return eventually(`${count} more answers`, () =>
        Promise.resolve(sources.length >= target ? true : undefined),
      );
    },
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

describe('data path under scaling and restarts: no request fails while an approved host remains', () => {
  let d: DataPath;

  beforeAll(async () => {
    d = await startDataPath('datascale', octet);
  }, 120_000);

  afterAll(() => d?.close());

  it('streams through 2 → 3 replicas, a replica and worker restart, and 3 → 1 without a failed request', async () => {
    const { h } = d;
    const endpoints = proxyParents(h, 'TailscaleEndpoints');
    const name = uniqueName('web');
    const proxiesName = `${name}-proxies`;
    await createEchoServices(h, name, { selects: name, proxies: 2 });
    const vip = await vipAddressOf(h, name);
    await eventually('a first answer through the VIP', () => echoGet({ host: vip, port: 80, path: '/' }), {
      timeoutMs: 120_000,
    });
    /** loopbackFor(pod IP) of replica `ordinal` while Ready. */
    const sourceOf = (ordinal: number) =>
      eventually(`replica ${ordinal}'s pod IP`, async () => {
        const device = (await endpoints.get(proxiesName)).status?.devices?.find((d) =>
          d.statefulSetPod.endsWith(`-${ordinal}`),
        );
        return device?.podIP ? loopbackFor(device.podIP) : undefined;
      });
    const reaches = (stream: ReturnType<typeof streamRequests>, source: string, since: number) =>
      eventually(`requests answered through ${source}`, () =>
        Promise.resolve(stream.sources.slice(since).includes(source) ? true : undefined),
      );

    const stream = streamRequests(vip, 80);
    try {
      await stream.more(20);

      await endpoints.patch(proxiesName, [{ op: 'replace', path: '/spec/proxy/replicas', value: 3 }]);
      await endpoints.waitReady(proxiesName, 2);
      await reaches(stream, await sourceOf(2), 0);

      // A proxy pod dies and its StatefulSet replaces it while the operator's worker is down too.
      const p = proxiesOf(h.namespace, proxiesName);
      await h.operator.killWorker();
      await h.proxies.killReplica(p.namespace, p.name, 0);
      h.operator.startWorker();
      const first = await sourceOf(0);
      await reaches(stream, first, stream.sources.length);

      await endpoints.patch(proxiesName, [{ op: 'replace', path: '/spec/proxy/replicas', value: 1 }]);
      await endpoints.waitReady(proxiesName, 3);
      // Once the removed replicas are gone, every answer comes through the one left.
      await eventually('20 answers in a row through replica 0 alone', async () => {
        const since = stream.sources.length;
        await stream.more(20);
        return stream.sources.slice(since).every((s) => s === first) ? true : undefined;
      });
    } finally {
      await stream.stop();
    }
    expect(stream.failures).toEqual([]);
    expect(new Set(stream.sources).size).toBe(3);
  }, 300_000);
});
