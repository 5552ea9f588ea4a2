/**
 * A watch on the proxies' ConfigMaps (`<statefulset>-proxies` in the operator namespace) that
 * timestamps (performance.now) the first event whose serve config holds what a waiter expects of one
 * VIP service's entry: when the operator's write of a config change reached the API server.
 */
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import type { ServeConfig, ServiceConfig } from '../../activities/specs/serve-config';
import { serveConfigKey } from '../../activities/specs/proxy-group';
import { createLogger } from '../../runtime/logger';
import { Informer } from '../../watchers/informer';
import { waitFor } from './objects';

type Waiter = {
  service: string;
  accept: (entry: ServiceConfig) => boolean;
  resolve: (at: number) => void;
};

export class ServeConfigWatch {
  private readonly informer: Informer<V1ConfigMap>;
  private waiters: Waiter[] = [];

  constructor(kc: KubeConfig, namespace: string) {
    const core = kc.makeApiClient(CoreV1Api);
    this.informer = new Informer<V1ConfigMap>({
      name: 'bench/proxies-configmaps',
      kc,
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      list: async ({ limit, continue: cont }) =>
        await core.listNamespacedConfigMap({ namespace, limit, _continue: cont }),
      resyncIntervalMs: 3_600_000,
      logger: createLogger({ level: 'error' }),
      onUpsert: (cm) => this.seen(cm),
      onDelete: () => undefined,
      keepObjects: false,
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    await waitFor(
      'proxies ConfigMaps watch listed',
      () => Promise.resolve(this.informer.hasSynced || undefined),
      30_000,
      50,
    );
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** Resolves with the time of the first ConfigMap event (from now) whose entry for `service` `accept` takes. */
  next(service: string, accept: (entry: ServiceConfig) => boolean, timeoutMs: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no serve config for ${service} as expected within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        service,
        accept,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.waiters.push(waiter);
    });
  }

  private seen(cm: V1ConfigMap): void {
    const text = cm.data?.[serveConfigKey];
    if (!text || !this.waiters.length) return;
    const at = performance.now();
    let services: ServeConfig['Services'];
    try {
      services = (JSON.parse(text) as ServeConfig).Services;
    } catch {
      return;
    }
    const done = this.waiters.filter((w) => {
      const entry = services?.[w.service];
      return entry !== undefined && w.accept(entry);
    });
    if (!done.length) return;
    this.waiters = this.waiters.filter((w) => !done.includes(w));
    for (const w of done) w.resolve(at);
  }
}
