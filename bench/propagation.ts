/**
 * Propagation latency (docs/architecture.md §7: p50 < 300 ms, p99 < 1 s): a TailscaleServices applied → the VIP
 * service stored in the Tailscale simulator → the CR's status published (Ready, addresses) → the
 * extension server's index (its real IndexFeed, in this process) serving the backend. Changes run one
 * at a time, alternating the creation of a service and its move to another TailscaleEndpoints pool
 * (a selector change: new devices in the VIP registry, new local endpoints in the index). Each leg is
 * timestamped where it happens: the simulator's store, the status watch, the index swap. (A port change
 * is not used: the index takes ports from spec, so it shows one before the operator acts.)
 *
 *   npm run build && node dist/bench/propagation.js [--changes 200] [--endpoints 2] [--replicas 2] [--gap-ms 250]
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { BackendIndex, type IndexContent, type TailscaleBackend } from '../extension/backend-index';
import { IndexFeed } from '../extension/index-feed';
import { proxyPlacement } from '../activities/specs/proxy-group';
import { createLogger } from '../runtime/logger';
import { startFixture } from './support/fixture';
import { createServices, poolLabel, servicesBody, sleep } from './support/objects';
import { machineLoad, ProcessSampler, type ProcessFigures } from './support/processes';
import { summary, summaryTable } from './support/report';
import { type BenchStack, runStackBench } from './support/stack';

export const propagationDefaults = { changes: 200, endpoints: 2, replicas: 2, gapMs: 250, timeoutMs: 30_000 };
export type PropagationOptions = typeof propagationDefaults;

type Waiter = { accept: (b: TailscaleBackend) => boolean; name: string; resolve: (at: number) => void };

/** The extension's index, timestamping the swap that first serves what a waiter expects. */
class TimedIndex extends BackendIndex {
  private waiters: Waiter[] = [];
  rebuilds = 0;

  override replace(content: IndexContent) {
    const snapshot = super.replace(content);
    const at = performance.now();
    this.rebuilds++;
    if (this.waiters.length) {
      const byName = new Map(
        content.backends.filter((b) => b.kind === 'TailscaleServices').map((b) => [b.name, b]),
      );
      const done = this.waiters.filter((w) => {
        const b = byName.get(w.name);
        return b !== undefined && w.accept(b);
      });
      this.waiters = this.waiters.filter((w) => !done.includes(w));
      for (const w of done) w.resolve(at);
    }
    return snapshot;
  }

  next(name: string, accept: (b: TailscaleBackend) => boolean, timeoutMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`the index never served ${name} as expected within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        name,
        accept,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.waiters.push(waiter);
    });
  }
}

export interface PropagationSample {
  kind: 'create' | 'move';
  name: string;
  /** ms from the apply call to each leg. */
  tailscale: number;
  status: number;
  index: number;
}

export async function runPropagation(
  stack: BenchStack,
  opts: PropagationOptions,
  log: (line: string) => void = console.log,
) {
  const fixture = await startFixture({
    stack,
    name: 'bench-prop',
    endpoints: opts.endpoints,
    replicas: opts.replicas,
    log,
  });
  const index = new TimedIndex();
  const feed = new IndexFeed({
    kc: stack.kc,
    index,
    logger: createLogger({ level: 'error' }),
    clusterDomain: 'cluster.local',
    resyncIntervalMs: 600_000,
    namespaces: [fixture.namespace],
  });
  feed.start();
  const objects = stack.kc.makeApiClient(CustomObjectsApi);
  const samples: PropagationSample[] = [];
  const failures: string[] = [];
  const sampler = new ProcessSampler(fixture.pids()).start();
  let processes: Record<string, ProcessFigures> = {};
  const loadBefore = machineLoad();
  const created: string[] = [];
  try {
    for (let i = 0; i < opts.changes; i++) {
      // Pairs: create a service on one pool, then move the one just created to the next pool (generation 2).
      const move = i % 2 === 1 && created.length > 0 && fixture.pools.length > 1;
      const name = move ? created[created.length - 1]! : `p-${i}`;
      const service = `svc:${name}`;
      const generation = move ? 2 : 1;
      const pair = Math.floor(i / 2);
      const pool = fixture.pools[(move ? pair + 1 : pair) % fixture.pools.length]!;
      // The pool's pods are named after its placement in the operator namespace.
      const poolPods = proxyPlacement(
        { kind: 'TailscaleEndpoints', namespace: fixture.namespace, name: pool },
        stack.info.operatorNamespace,
      ).name;
      // A move rewrites our registry entry (its devices); a creation stores the service.
      const wrote = fixture.tailnet.nextWrite(service, () => true, opts.timeoutMs);
      const served = index.next(
        name,
        (b) =>
          b.ready &&
          b.endpoints.some((e) => e.locality === 'remote') &&
          b.endpoints.some((e) => e.locality === 'local' && e.address.startsWith(`${poolPods}-`)),
        opts.timeoutMs,
      );
      const t0 = performance.now();
      try {
        if (move) {
          await objects.patchNamespacedCustomObject({
            group: 'gateway.tailscale.com',
            version: 'v1alpha1',
            namespace: fixture.namespace,
            plural: 'tailscaleservices',
            name,
            body: [{ op: 'replace', path: '/spec/selector/matchLabels', value: { [poolLabel]: pool } }],
          });
        } else {
          await createServices(
            stack.kc,
            fixture.namespace,
            [servicesBody({ name, tailnet: fixture.tailnet.name, pool, labels: fixture.operator.labels })],
            1,
          );
          created.push(name);
        }
        const [write, indexAt] = await Promise.all([
          wrote,
          served,
          fixture.tracker.waitReady(name, generation, opts.timeoutMs),
        ]);
        const statusAt = fixture.tracker.readyAt.get(name)!.at;
        samples.push({
          kind: move ? 'move' : 'create',
          name,
          tailscale: write.at - t0,
          status: statusAt - t0,
          index: indexAt - t0,
        });
      } catch (err) {
        wrote.catch(() => undefined);
        served.catch(() => undefined);
        failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        if (failures.length > Math.max(3, opts.changes / 10)) throw new Error(failures.join('\n'));
      }
      await sleep(opts.gapMs);
    }
  } finally {
    await feed.stop();
    processes = sampler.stop();
    await fixture.close();
  }
  const legs = (pick: (s: PropagationSample) => number, kind?: string) =>
    summary(samples.filter((s) => !kind || s.kind === kind).map(pick));
  const figures = {
    changes: samples.length,
    failures,
    applyToTailscale: legs((s) => s.tailscale),
    applyToStatus: legs((s) => s.status),
    applyToIndex: legs((s) => s.index),
    tailscaleToStatus: legs((s) => s.status - s.tailscale),
    statusToIndex: legs((s) => s.index - s.status),
    creates: legs((s) => s.index, 'create'),
    moves: legs((s) => s.index, 'move'),
    indexRebuilds: index.rebuilds,
    loadBefore,
    loadAfter: machineLoad(),
    processes,
    samples,
  };
  return figures;
}

export function printPropagation(figures: Awaited<ReturnType<typeof runPropagation>>): string {
  return [
    `propagation over ${figures.changes} changes (ms; target apply→index p50 < 300, p99 < 1000)`,
    summaryTable([
      ['apply → VIP service in Tailscale', figures.applyToTailscale],
      ['apply → status published', figures.applyToStatus],
      ['apply → extension index updated', figures.applyToIndex],
      ['  Tailscale → status', figures.tailscaleToStatus],
      ['  status → index', figures.statusToIndex],
      ['  creations (apply → index)', figures.creates],
      ['  moves to another pool (apply → index)', figures.moves],
    ]),
    `load average before ${figures.loadBefore.loadavg.join(' ')}, after ${figures.loadAfter.loadavg.join(' ')} (${figures.loadAfter.cores} cores); failures ${figures.failures.length}`,
  ].join('\n');
}

if (require.main === module)
  runStackBench('propagation', propagationDefaults, runPropagation, printPropagation);
