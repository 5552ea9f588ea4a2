/**
 * Tailscale's own operator side by side with ours (issue 17 point 5), on the same stack: a real
 * kube-apiserver and a fresh Tailscale simulator per run. Each gets N services:
 *   - us: N TailscaleServices on one TailscaleEndpoints pool (the cold-convergence path);
 *   - the peer (tailscale.com/cmd/k8s-operator): N Services annotated for one ingress ProxyGroup
 *     (`tailscale.com/proxy-group`), each backed by a ready EndpointSlice, which it exposes as VIP services.
 * The proxy simulator plays both operators' proxies. Per operator: time until every VIP service exists
 * in the simulator and until every status shows it, Tailscale API requests and the operator's own
 * Kubernetes writes per service (counted on its own kubeconfig), and the ratios peer/us, per round of
 * back-to-back runs.
 *
 *   npm run build && npm run bench:peer -- [--services 1] [--replicas 2] [--rounds 1] [--direct]
 */
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import { convergeServices } from './cold-convergence';
import { startFixture } from './support/fixture';
import { startKubeCounter, type KubeCounter, type KubeRequestCounts } from './support/kube-counter';
import { inParallel, waitFor } from './support/objects';
import { installPeerCrds, startPeerOperator } from './support/peer-operator';
import { machineLoad } from './support/processes';
import { fmt, percentile, summary, table } from './support/report';
import { createNamespace, uniqueName, type BenchStack, runStackBench } from './support/stack';
import { startBenchTailnet, type BenchTailnet } from './support/tailnet';
import { startProxySimulator, tailscaleOperatorProxies } from '../simulators/proxy/simulator';
import { createLogger } from '../runtime/logger';
import { operatorOAuthScopes } from '../tools/stack/tailnet';
import { Informer } from '../watchers/informer';
import type { V1Service } from '@kubernetes/client-node';

export const peerDefaults = {
  services: 1,
  replicas: 2,
  rounds: 1,
  createConcurrency: 32,
  timeoutMs: 900_000,
  /**
   * No counting fronts: both operators talk to the API server directly. Each request through a front
   * costs a hop through this process, and the times then weigh with how many requests lie in a row on
   * each operator's path; the Kubernetes writes go uncounted.
   */
  direct: false,
};
export type PeerOptions = typeof peerDefaults;

export interface OperatorFigures {
  services: number;
  /** Seconds from the first create: p50 and last of each service's first VIP service write. */
  vipExists: { p50: number; last: number };
  /** Seconds from the first create: p50 and last of each service's status showing its VIP service. */
  status: { p50: number; last: number };
  tailscaleRequestsPerService: number;
  kubernetesWritesPerService: number;
  kubernetes: KubeRequestCounts;
  tailscaleRequests: Record<string, number>;
}

function timings(t0: number, firstWrite: (number | undefined)[], statusAt: (number | undefined)[]) {
  const seconds = (xs: (number | undefined)[], what: string) => {
    if (xs.some((x) => x === undefined)) throw new Error(`some services have no ${what}`);
    return (xs as number[]).map((x) => (x - t0) / 1000).sort((a, b) => a - b);
  };
  const vip = seconds(firstWrite, 'VIP service write');
  const status = seconds(statusAt, 'status');
  return {
    vipExists: { p50: percentile(vip, 0.5), last: vip[vip.length - 1]! },
    status: { p50: percentile(status, 0.5), last: status[status.length - 1]! },
  };
}

const firstWriteAt = (tailnet: BenchTailnet, service: string, after: number) =>
  tailnet.writes.get(service)?.find((w) => w.at >= after)?.at;

async function counterFor(stack: BenchStack, name: string, opts: PeerOptions): Promise<KubeCounter> {
  if (opts.direct) {
    const uncounted = { reads: NaN, writes: NaN, writesByResource: {} };
    return {
      kubeconfigPath: stack.info.kubeconfigPath,
      counts: () => structuredClone(uncounted),
      reset: () => {},
      close: () => Promise.resolve(),
    };
  }
  const cluster = stack.kc.getCurrentCluster()!;
  return startKubeCounter({
    server: cluster.server,
    token: stack.kc.getCurrentUser()!.token!,
    dir: stack.info.dir,
    name,
    tls: {
      certFile: join(stack.info.dir, 'kube', 'certs', 'apiserver.crt'),
      keyFile: join(stack.info.dir, 'kube', 'certs', 'apiserver.key'),
    },
  });
}

export async function runOurs(stack: BenchStack, opts: PeerOptions, log: (line: string) => void) {
  const counter = await counterFor(stack, uniqueName('us'), opts);
  const fixture = await startFixture({
    stack,
    name: 'bench-peer-us',
    endpoints: 1,
    replicas: opts.replicas,
    env: { KUBECONFIG: counter.kubeconfigPath },
    log,
  });
  try {
    counter.reset();
    const t0 = performance.now();
    const run = await convergeServices(fixture, { ...opts, endpoints: 1 }, log);
    const kubernetes = counter.counts();
    return {
      services: opts.services,
      ...timings(
        t0,
        run.names.map((n) => firstWriteAt(fixture.tailnet, `svc:${n}`, t0)),
        run.names.map((n) => fixture.tracker.readyAt.get(n)?.at),
      ),
      tailscaleRequestsPerService: run.requests.total / opts.services,
      kubernetesWritesPerService: kubernetes.writes / opts.services,
      kubernetes,
      tailscaleRequests: run.requests.routes,
    } satisfies OperatorFigures;
  } finally {
    await fixture.close();
    await counter.close();
  }
}

/** Service status as the peer's HA Service reconciler writes it once a replica advertises the VIP. */
const statusShown = (svc: V1Service) => (svc.status?.loadBalancer?.ingress ?? []).length > 0;

export async function runPeer(stack: BenchStack, opts: PeerOptions, log: (line: string) => void) {
  const started = Date.now();
  const { kc } = stack;
  const namespace = await createNamespace(kc, 'bench-peer');
  const tailnet = await startBenchTailnet({ kc, namespace, name: uniqueName('peer'), labels: {} });
  const oauth = await tailnet.sim.admin.createOAuthClient({
    // The scopes Tailscale's docs give its operator's OAuth client: devices, auth keys, services.
    scopes: operatorOAuthScopes,
    tags: ['tag:k8s-operator', 'tag:k8s'],
  });
  await installPeerCrds(kc);
  const counter = await counterFor(stack, uniqueName('peer'), opts);
  const proxies = startProxySimulator({
    kc,
    tailscale: tailnet.sim.admin,
    proxies: tailscaleOperatorProxies,
  });
  const peer = await startPeerOperator({
    dir: stack.info.dir,
    kubeconfigPath: counter.kubeconfigPath,
    namespace,
    tailscaleUrl: tailnet.sim.url,
    dnsSuffix: tailnet.dnsSuffix,
    oauth,
    proxyTags: ['tag:k8s'],
  });
  const statusAt = new Map<string, number>();
  const informer = new Informer<V1Service>({
    name: 'bench/peer-services',
    kc,
    path: `/api/v1/namespaces/${namespace}/services`,
    list: async ({ limit, continue: cont }) =>
      await kc.makeApiClient(CoreV1Api).listNamespacedService({ namespace, limit, _continue: cont }),
    resyncIntervalMs: 60_000,
    logger: createLogger({ level: 'warn' }),
    onUpsert: (svc) => {
      const name = svc.metadata!.name!;
      if (!statusAt.has(name) && statusShown(svc)) statusAt.set(name, performance.now());
    },
    onDelete: () => undefined,
  });
  const pg = uniqueName('pg');
  try {
    await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({
      group: 'tailscale.com',
      version: 'v1alpha1',
      plural: 'proxygroups',
      body: {
        apiVersion: 'tailscale.com/v1alpha1',
        kind: 'ProxyGroup',
        metadata: { name: pg },
        spec: { type: 'ingress', replicas: opts.replicas },
      },
    });
    await waitFor(
      `ProxyGroup ${pg} Ready (peer logs: ${peer.logDir})`,
      async () => {
        const obj = (await kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({
          group: 'tailscale.com',
          version: 'v1alpha1',
          plural: 'proxygroups',
          name: pg,
        })) as { status?: { conditions?: { type: string; status: string }[] } };
        return obj.status?.conditions?.some((c) => c.type === 'ProxyGroupReady' && c.status === 'True')
          ? true
          : undefined;
      },
      180_000,
      250,
    );
    const names = Array.from({ length: opts.services }, (_, i) => `p-${i}`);
    await createEndpointSlices(kc, namespace, names, opts.createConcurrency);
    informer.start();
    log(
      `peer up in ${((Date.now() - started) / 1000).toFixed(1)} s: ProxyGroup ${pg} Ready, logs in ${peer.logDir}`,
    );

    await tailnet.sim.admin.resetRequestCounts();
    counter.reset();
    const t0 = performance.now();
    await inParallel(names, opts.createConcurrency, async (name) => {
      await kc.makeApiClient(CoreV1Api).createNamespacedService({
        namespace,
        body: {
          // Its status carries the VIP, so the API server requires a LoadBalancer Service.
          metadata: { name, annotations: { 'tailscale.com/proxy-group': pg } },
          spec: {
            type: 'LoadBalancer',
            loadBalancerClass: 'tailscale',
            allocateLoadBalancerNodePorts: false,
            ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
          },
        },
      });
    });
    let lastLog = 0;
    for (;;) {
      const elapsed = (performance.now() - t0) / 1000;
      if (statusAt.size === names.length) break;
      if (elapsed * 1000 > opts.timeoutMs)
        throw new Error(
          `only ${statusAt.size}/${names.length} peer Services with status after ${elapsed.toFixed(0)} s`,
        );
      if (elapsed - lastLog >= 15) {
        lastLog = elapsed;
        log(
          `  ${elapsed.toFixed(0)} s: ${statusAt.size}/${names.length} peer Services show their VIP service`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const requests = await tailnet.sim.admin.requestCounts();
    const kubernetes = counter.counts();
    return {
      services: opts.services,
      ...timings(
        t0,
        names.map((n) => firstWriteAt(tailnet, `svc:${namespace}-${n}`, t0)),
        names.map((n) => statusAt.get(n)),
      ),
      tailscaleRequestsPerService: requests.total / opts.services,
      kubernetesWritesPerService: kubernetes.writes / opts.services,
      kubernetes,
      tailscaleRequests: requests.routes,
    } satisfies OperatorFigures;
  } finally {
    await informer.stop();
    await peer.stop();
    await proxies.stop();
    await counter.close();
    await tailnet.close();
    await kc
      .makeApiClient(CustomObjectsApi)
      .deleteClusterCustomObject({
        group: 'tailscale.com',
        version: 'v1alpha1',
        plural: 'proxygroups',
        name: pg,
      })
      .catch(() => undefined);
  }
}

/** One ready endpoint per Service: the peer advertises a Service only once it has one (no controller-manager here). */
async function createEndpointSlices(kc: KubeConfig, namespace: string, names: string[], concurrency: number) {
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  await inParallel(names, concurrency, async (name) => {
    await discovery.createNamespacedEndpointSlice({
      namespace,
      body: {
        metadata: { name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.250.0.1'], conditions: { ready: true } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    });
  });
}

export async function runPeerComparison(
  stack: BenchStack,
  opts: PeerOptions,
  log: (line: string) => void = console.log,
) {
  const rounds = [];
  for (let i = 0; i < opts.rounds; i++) {
    const loadBefore = machineLoad();
    log(`round ${i + 1}/${opts.rounds}: ${opts.services} services, us then the peer`);
    const us = await runOurs(stack, opts, log);
    const peer = await runPeer(stack, opts, log);
    rounds.push({ us, peer, loadBefore, loadAfter: machineLoad() });
  }
  return { services: opts.services, replicas: opts.replicas, direct: opts.direct, rounds };
}

export function printPeer(f: Awaited<ReturnType<typeof runPeerComparison>>): string {
  const rows = f.rounds.flatMap((r, i) => {
    const row = (figure: string, peer: number, us: number) => [
      i + 1,
      figure,
      fmt(peer),
      fmt(us),
      us > 0 ? `${fmt(peer / us)}×` : '-',
    ];
    return [
      row('to VIP service exists, p50 (s)', r.peer.vipExists.p50, r.us.vipExists.p50),
      row('to VIP service exists, last (s)', r.peer.vipExists.last, r.us.vipExists.last),
      row('to status, p50 (s)', r.peer.status.p50, r.us.status.p50),
      row('to status, last (s)', r.peer.status.last, r.us.status.last),
      row(
        'Tailscale requests / service',
        r.peer.tailscaleRequestsPerService,
        r.us.tailscaleRequestsPerService,
      ),
      ...(f.direct
        ? []
        : [
            row(
              'Kubernetes writes / service',
              r.peer.kubernetesWritesPerService,
              r.us.kubernetesWritesPerService,
            ),
          ]),
    ];
  });
  // One round's time moves a lot (the peer's more than ours), so the comparison is over the rounds.
  const acrossRounds = (figure: string, of: (o: OperatorFigures) => number) => {
    const peer = summary(f.rounds.map((r) => of(r.peer))).p50;
    const us = summary(f.rounds.map((r) => of(r.us))).p50;
    return ['all', `${figure}, p50 of the rounds (s)`, fmt(peer), fmt(us), `${fmt(peer / us)}×`];
  };
  const overall =
    f.rounds.length > 1
      ? [
          acrossRounds('to VIP service exists', (o) => o.vipExists.p50),
          acrossRounds('to status', (o) => o.status.p50),
        ]
      : [];
  return [
    `Tailscale's operator (peer) vs us: ${f.services} services, ${f.replicas} proxies, runs back to back${f.direct ? ', both straight to the API server (writes not counted)' : ''}`,
    table(['round', 'figure', 'peer', 'us', 'peer / us'], [...rows, ...overall]),
    ...f.rounds.map(
      (r, i) =>
        `round ${i + 1}: load average before ${r.loadBefore.loadavg.join(' ')}, after ${r.loadAfter.loadavg.join(' ')} (${r.loadAfter.cores} cores)`,
    ),
  ].join('\n');
}

if (require.main === module) runStackBench('peer', peerDefaults, runPeerComparison, printPeer);
