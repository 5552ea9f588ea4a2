/**
 * Load on one echo backend (tools/echo-server.ts) reached two ways, side by side: request latency
 * (each request a fresh connection, the two ways alternating request by request so both see the same
 * machine), request throughput (keep-alive clients in parallel) and a bulk TCP transfer through the
 * echo port.
 */
import { Agent } from 'node:http';
import { echoGet, tcpBulk } from '../../tools/echo-client';
import { inParallel } from './objects';
import { summary } from './report';

/** Where the echo backend's HTTP and TCP ports are reached one way. */
export interface EchoTarget {
  host: string;
  httpPort: number;
  tcpPort: number;
}

async function timedGet(target: EchoTarget, path: string, agent?: Agent): Promise<number> {
  const t0 = performance.now();
  const { answer } = await echoGet({ host: target.host, port: target.httpPort, path, agent });
  if (answer.path !== path) throw new Error(`asked for ${path}, the backend answered ${answer.path}`);
  return performance.now() - t0;
}

/** `requests` fresh-connection requests each way, after `warmup` unmeasured ones; ms. */
export async function requestLatency(
  targets: { direct: EchoTarget; vip: EchoTarget },
  requests: number,
  warmup = 20,
) {
  const ms = { direct: [] as number[], vip: [] as number[] };
  for (let i = 0; i < warmup + requests; i++) {
    // Alternate which way goes first, so neither always follows the other's connection teardown.
    const order = i % 2 === 0 ? (['direct', 'vip'] as const) : (['vip', 'direct'] as const);
    for (const way of order) {
      const t = await timedGet(targets[way], `/latency/${way}/${i}`);
      if (i >= warmup) ms[way].push(t);
    }
  }
  const direct = summary(ms.direct);
  const vip = summary(ms.vip);
  return { direct, vip, ratioP50: vip.p50 / direct.p50, ratioP99: vip.p99 / direct.p99 };
}

/** `requests` requests over `concurrency` keep-alive connections; requests per second. */
export async function requestThroughput(target: EchoTarget, requests: number, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const paths = Array.from({ length: requests }, (_, i) => `/throughput/${i}`);
  const t0 = performance.now();
  try {
    await inParallel(paths, concurrency, async (path) => {
      await timedGet(target, path, agent);
    });
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { requests, seconds, perSecond: requests / seconds };
}

/** `bytes` through the TCP echo and back on one connection; MB/s of payload (10^6 bytes). */
export async function bulkTransfer(target: EchoTarget, bytes: number) {
  const t0 = performance.now();
  const received = await tcpBulk(target.host, target.tcpPort, bytes);
  const seconds = (performance.now() - t0) / 1000;
  if (received !== bytes) throw new Error(`sent ${bytes} bytes, ${received} came back`);
  return { bytes, seconds, mbPerSecond: bytes / 1e6 / seconds };
}

/** The three measurements, direct and through the VIP, and VIP / direct for each. */
export async function compareDataPlane(
  targets: { direct: EchoTarget; vip: EchoTarget },
  opts: { requests: number; throughputRequests: number; concurrency: number; bulkMegabytes: number },
) {
  const latency = await requestLatency(targets, opts.requests);
  const rps = {
    direct: await requestThroughput(targets.direct, opts.throughputRequests, opts.concurrency),
    vip: await requestThroughput(targets.vip, opts.throughputRequests, opts.concurrency),
  };
  const bytes = opts.bulkMegabytes * 1e6;
  const bulk = {
    direct: await bulkTransfer(targets.direct, bytes),
    vip: await bulkTransfer(targets.vip, bytes),
  };
  return {
    latency,
    throughput: { ...rps, ratio: rps.vip.perSecond / rps.direct.perSecond },
    bulk: { ...bulk, ratio: bulk.vip.mbPerSecond / bulk.direct.mbPerSecond },
  };
}

export type DataPlaneComparison = Awaited<ReturnType<typeof compareDataPlane>>;
