/**
 * What the benchmarks create: a pool of TailscaleEndpoints whose proxies the proxy simulator plays, and
 * TailscaleServices selecting them; and a watch that timestamps each TailscaleServices turning Ready.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../api/common';
import type { TailscaleEndpoints, TailscaleServices } from '../../api/v1alpha1';
import { resourceOf } from '../../api/crd';
import { tailscaleServicesCrd, type ServiceBackend } from '../../api/v1alpha1/tailscale-services';
import { createLogger } from '../../runtime/logger';
import { customResourceInformer } from '../../watchers/custom-resource-informer';
import type { Informer } from '../../watchers/informer';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';
export const poolLabel = 'bench.tailscale-gateway.com/pool';

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `intervalMs` until it returns a value; fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

export const poolName = (i: number) => `pool-${i}`;

/** `count` TailscaleEndpoints of `replicas` proxies each, created by the operator and played by the proxy simulator. */
export async function createEndpointsPool(opts: {
  kc: KubeConfig;
  namespace: string;
  tailnet: string;
  labels: Record<string, string>;
  count: number;
  replicas: number;
  timeoutMs: number;
}): Promise<string[]> {
  const objects = opts.kc.makeApiClient(CustomObjectsApi);
  const names = Array.from({ length: opts.count }, (_, i) => poolName(i));
  await inParallel(names, 8, async (name) => {
    await objects.createNamespacedCustomObject({
      group,
      version,
      namespace: opts.namespace,
      plural: 'tailscaleendpoints',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TailscaleEndpoints',
        metadata: { name, labels: { ...opts.labels, [poolLabel]: name } },
        // A port gives the proxies their Service, so the extension index has local endpoints for them.
        spec: {
          tailnet: opts.tailnet,
          tags: ['tag:k8s'],
          proxy: { replicas: opts.replicas },
          ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
        },
      },
    });
  });
  await waitFor(
    `${opts.count} TailscaleEndpoints Ready with ${opts.replicas} devices each`,
    async () => {
      const list = (await objects.listNamespacedCustomObject({
        group,
        version,
        namespace: opts.namespace,
        plural: 'tailscaleendpoints',
      })) as { items: TailscaleEndpoints[] };
      const ready = list.items.filter(
        (e) =>
          e.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
          (e.status.devices ?? []).length === opts.replicas,
      );
      return ready.length === opts.count ? true : undefined;
    },
    opts.timeoutMs,
    500,
  );
  return names;
}

export function servicesBody(opts: {
  name: string;
  tailnet: string;
  pool: string;
  labels: Record<string, string>;
  /** VIP service ports; default 80. */
  ports?: number[];
  backend?: ServiceBackend;
}) {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'TailscaleServices',
    metadata: { name: opts.name, labels: opts.labels },
    spec: {
      tailnet: opts.tailnet,
      selector: { matchLabels: { [poolLabel]: opts.pool } },
      vipService: { ports: (opts.ports ?? [80]).map((p) => `tcp:${p}`), tags: ['tag:k8s'] },
      ...(opts.backend ? { backend: opts.backend } : {}),
    },
  };
}

export async function createServices(
  kc: KubeConfig,
  namespace: string,
  bodies: ReturnType<typeof servicesBody>[],
  concurrency: number,
): Promise<void> {
  const objects = kc.makeApiClient(CustomObjectsApi);
  await inParallel(bodies, concurrency, async (body) => {
    await objects.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      body,
    });
  });
}

export async function listServices(
  stack: { kc: KubeConfig },
  namespace: string,
): Promise<TailscaleServices[]> {
  const list = (await stack.kc.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'tailscaleservices',
  })) as { items: TailscaleServices[] };
  return list.items;
}

export const isReadyAt = (svc: TailscaleServices, generation: number) =>
  svc.status?.observedGeneration === generation &&
  Boolean(svc.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) &&
  (svc.status.vipService?.addresses ?? []).length > 0;

/**
 * Watches the TailscaleServices of a namespace and timestamps (performance.now) the first event in which
 * each one is Ready for its current generation with VIP addresses published.
 */
export class ServicesTracker {
  readonly readyAt = new Map<string, { generation: number; at: number; svc: TailscaleServices }>();
  private readonly informer: Informer<KubeObject<unknown, unknown>>;
  private waiters: { name: string; generation: number; resolve: () => void }[] = [];

  constructor(kc: KubeConfig, namespace: string) {
    this.informer = customResourceInformer<KubeObject<unknown, unknown>>({
      kc,
      resource: resourceOf(tailscaleServicesCrd),
      namespace,
      resyncIntervalMs: 3_600_000,
      logger: createLogger({ level: 'error' }),
      onUpsert: (obj) => this.seen(obj as unknown as TailscaleServices),
      onDelete: () => undefined,
    });
  }

  start(): Promise<void> {
    this.informer.start();
    return waitFor(
      'services watch listed',
      () => Promise.resolve(this.informer.hasSynced || undefined),
      30_000,
      50,
    ).then(() => undefined);
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  private seen(svc: TailscaleServices): void {
    const generation = svc.metadata.generation ?? 0;
    const name = svc.metadata.name;
    const known = this.readyAt.get(name);
    if (known && known.generation >= generation) return;
    if (!isReadyAt(svc, generation)) return;
    this.readyAt.set(name, { generation, at: performance.now(), svc });
    const done = this.waiters.filter((w) => w.name === name && w.generation <= generation);
    if (done.length) {
      this.waiters = this.waiters.filter((w) => !done.includes(w));
      for (const w of done) w.resolve();
    }
  }

  ready(name: string, generation: number): boolean {
    return (this.readyAt.get(name)?.generation ?? -1) >= generation;
  }

  countReady(names: readonly string[]): number {
    return names.filter((n) => this.readyAt.has(n)).length;
  }

  /** Resolves once `name` is Ready at `generation` (or later); the timestamp is in `readyAt`. */
  waitReady(name: string, generation: number, timeoutMs: number): Promise<void> {
    if (this.ready(name, generation)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${name} not Ready at generation ${generation} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        name,
        generation,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }
}
