/**
 * The data path on the box (issue 14): a real echo backend behind a Kubernetes Service, published as a
 * VIP service by a TailscaleServices over a pool of TailscaleEndpoints, on the real stack (kube-apiserver,
 * Temporal, the operator's worker and watchers, the Tailscale simulator, the proxy stand-in).
 *
 * 1. Request latency (fresh connection per request, p50/p99), request throughput (keep-alive clients)
 *    and bulk TCP MB/s through the VIP on the loopback tailnet against a direct connection to the same
 *    backend, as ratios from one run. These measure the STAND-IN (simulators/proxy: a Node.js relay that
 *    resolves the backend through the API server per connection), not tailscaled, WireGuard or a
 *    real network.
 * 2. The figure that matters: the time from a config change to the first request the new backend
 *    answers, p50/p99 over repetitions, for a new TailscaleServices and for a change of its backend port
 *    mapping, with the legs (Tailscale, serve config written, status) that show where it goes.
 *
 *   npm run build && npm run bench:data-path -- [--requests 1000] [--changes 20] [--bulk-megabytes 64]
 */
import { compareDataPlane, type DataPlaneComparison } from './support/data-plane-load';
import { createService, moveTcpPort, type ChangeContext, type ChangeSample } from './support/config-change';
import { startFixture } from './support/fixture';
import { machineLoad } from './support/processes';
import { summary, summaryRow, summaryTable, table } from './support/report';
import { ServeConfigWatch } from './support/serve-configs';
import { type BenchStack, runStackBench } from './support/stack';
import { startEchoBackend } from '../tools/echo-backend';
import type { EchoServer } from '../tools/echo-server';

export const dataPathDefaults = {
  /** Fresh-connection requests each way for the latency figures. */
  requests: 1000,
  /** Requests each way for throughput, over `concurrency` keep-alive connections. */
  throughputRequests: 4000,
  concurrency: 8,
  /** Payload of the bulk TCP transfer, echoed back. */
  bulkMegabytes: 64,
  /** TailscaleServices created, and as many port mapping changes. */
  changes: 20,
  endpoints: 2,
  replicas: 2,
  /** Pause between two probes that got no answer from the expected backend. */
  probeIntervalMs: 5,
  timeoutMs: 120_000,
};
export type DataPathOptions = typeof dataPathDefaults;

/** The echo backend's endpoint: 10.250.<octet>.1, on loopback 127.250.<octet>.1. */
const backendOctet = 41;

export const standInNote =
  'data-plane figures measure the STAND-IN (simulators/proxy, a Node.js relay on loopback that resolves the backend through the API server per connection), not tailscaled or WireGuard';

export async function runDataPath(
  stack: BenchStack,
  opts: DataPathOptions,
  log: (line: string) => void = console.log,
) {
  const fixture = await startFixture({
    stack,
    name: 'bench-datapath',
    endpoints: opts.endpoints,
    replicas: opts.replicas,
    log,
  });
  const serveConfigs = new ServeConfigWatch(stack.kc, stack.info.operatorNamespace);
  const ctx: ChangeContext = {
    fixture,
    serveConfigs,
    probeIntervalMs: opts.probeIntervalMs,
    timeoutMs: opts.timeoutMs,
  };
  const loadBefore = machineLoad();
  let backend: EchoServer | undefined;
  try {
    backend = await startEchoBackend(stack.kc, fixture.namespace, backendOctet);
    await serveConfigs.start();
    // The service measured and then moved; its creation warms the path up and is not a sample.
    const { vip } = await createService(ctx, 'dp', fixture.pools[0]!);
    const [host, httpPort] = backend.http!.split(':');
    const direct = { host: host!, httpPort: Number(httpPort), tcpPort: Number(backend.tcp!.split(':')[1]) };
    log(`  dp forwarding through ${vip}; direct ${host}; measuring the data plane ...`);
    const dataPlane = await compareDataPlane(
      { direct, vip: { host: vip, httpPort: 80, tcpPort: 9000 } },
      opts,
    );
    const loadMid = machineLoad();

    log(`  ${opts.changes} creations, then ${opts.changes} port mapping changes ...`);
    const samples: ChangeSample[] = [];
    for (let i = 0; i < opts.changes; i++) {
      const pool = fixture.pools[i % fixture.pools.length]!;
      samples.push((await createService(ctx, `c-${i}`, pool)).sample);
    }
    for (let i = 0; i < opts.changes; i++) {
      samples.push(await moveTcpPort(ctx, 'dp', vip, i % 2 === 0 ? 'http' : 'raw', i + 2));
    }
    return {
      standIn: standInNote,
      dataPlane,
      configChange: changeFigures(samples),
      samples,
      loadBefore,
      loadMid,
      loadAfter: machineLoad(),
    };
  } finally {
    await serveConfigs.stop();
    await backend?.close();
    await fixture.close();
  }
}

function changeFigures(samples: ChangeSample[]) {
  const of = (kind: ChangeSample['kind'], pick: (s: ChangeSample) => number) =>
    summary(samples.filter((s) => s.kind === kind).map(pick));
  const legs = (kind: ChangeSample['kind']) => ({
    applyToServeConfig: of(kind, (s) => s.serveConfig),
    applyToStatus: of(kind, (s) => s.status),
    applyToForwarded: of(kind, (s) => s.forwarded),
    serveConfigToForwarded: of(kind, (s) => s.forwarded - s.serveConfig),
    failedProbes: samples.filter((s) => s.kind === kind).reduce((n, s) => n + s.failedProbes, 0),
  });
  return {
    create: { applyToTailscale: of('create', (s) => s.tailscale ?? NaN), ...legs('create') },
    move: legs('move'),
  };
}

export type DataPathFigures = Awaited<ReturnType<typeof runDataPath>>;

function dataPlaneTables(d: DataPlaneComparison): string[] {
  const { latency, throughput, bulk } = d;
  return [
    'request latency, a fresh connection per request, the two ways alternating (ms)',
    table(
      ['way', 'n', 'p50', 'p90', 'p99', 'max'],
      [
        summaryRow('direct to the backend', latency.direct),
        summaryRow('through the VIP (stand-in)', latency.vip),
        ['VIP / direct', '', latency.ratioP50, '', latency.ratioP99, ''],
      ],
    ),
    `throughput: ${throughput.direct.requests} HTTP requests over keep-alive connections, then ${bulk.direct.bytes / 1e6} MB through the TCP echo and back`,
    table(
      ['way', 'requests/s', 'bulk MB/s'],
      [
        ['direct to the backend', throughput.direct.perSecond, bulk.direct.mbPerSecond],
        ['through the VIP (stand-in)', throughput.vip.perSecond, bulk.vip.mbPerSecond],
        ['VIP / direct', throughput.ratio, bulk.ratio],
      ],
    ),
  ];
}

export function printDataPath(f: DataPathFigures): string {
  const { create, move } = f.configChange;
  return [
    `data path through the loopback tailnet, one run — ${f.standIn}`,
    ...dataPlaneTables(f.dataPlane),
    '',
    'config change → first request forwarded to the new backend (ms from the apply call)',
    summaryTable([
      ['create: → VIP service in Tailscale', create.applyToTailscale],
      ['create: → serve config written', create.applyToServeConfig],
      ['create: → status Ready', create.applyToStatus],
      ['create: → first forwarded request', create.applyToForwarded],
      ['  serve config → forwarded (stand-in)', create.serveConfigToForwarded],
      ['port mapping: → serve config written', move.applyToServeConfig],
      ['port mapping: → status Ready', move.applyToStatus],
      ['port mapping: → first forwarded request', move.applyToForwarded],
      ['  serve config → forwarded (stand-in)', move.serveConfigToForwarded],
    ]),
    `probes without an answer from either backend during the port mapping changes: ${move.failedProbes}`,
    `load average before ${f.loadBefore.loadavg.join(' ')}, after the data plane ${f.loadMid.loadavg.join(' ')}, at the end ${f.loadAfter.loadavg.join(' ')} (${f.loadAfter.cores} cores)`,
  ].join('\n');
}

if (require.main === module) runStackBench('data-path', dataPathDefaults, runDataPath, printDataPath);
