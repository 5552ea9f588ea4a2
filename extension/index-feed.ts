/**
 * Feeds the index from watches on the kinds the workflows publish: one resilient informer per kind
 * (watchers/informer.ts), and a rebuild of the whole snapshot, coalesced, after any change. Rebuilding
 * from the informers' caches keeps the mapping a pure function of what is in the API server.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../api/common';
import { resourceOf, type CrdDefinition } from '../api/crd';
import {
  tailscaleEndpointsCrd,
  tailscaleGatewayCrd,
  tailscaleProxyGroupCrd,
  tailscaleRoutePolicyCrd,
  tailscaleServicesCrd,
  type TailscaleEndpoints,
  type TailscaleGateway,
  type TailscaleProxyGroup,
  type TailscaleRoutePolicy,
  type TailscaleServices,
} from '../api/v1alpha1';
import type { Logger } from '../runtime/logger';
import { customResourceInformer } from '../watchers/custom-resource-informer';
import type { Informer } from '../watchers/informer';
import type { BackendIndex } from './backend-index';
import { indexContentFrom } from './index-from-resources';

export interface IndexFeedOptions {
  kc: KubeConfig;
  index: BackendIndex;
  logger: Logger;
  clusterDomain: string;
  resyncIntervalMs: number;
  /** Watch these namespaces only; empty watches all. */
  namespaces: string[];
  labelSelector?: string;
  /** Changes arriving within this many ms are folded into one rebuild. */
  coalesceMs?: number;
}

type AnyObject = KubeObject<unknown, unknown>;

const watchedCrds = {
  services: tailscaleServicesCrd,
  endpoints: tailscaleEndpointsCrd,
  proxyGroups: tailscaleProxyGroupCrd,
  gateways: tailscaleGatewayCrd,
  policies: tailscaleRoutePolicyCrd,
} as const;

export class IndexFeed {
  private readonly informers = new Map<keyof typeof watchedCrds, Informer<AnyObject>[]>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: IndexFeedOptions) {
    for (const [slot, crd] of Object.entries(watchedCrds) as [
      keyof typeof watchedCrds,
      CrdDefinition<unknown, unknown>,
    ][]) {
      const namespaces = opts.namespaces.length ? opts.namespaces : [undefined];
      this.informers.set(
        slot,
        namespaces.map((namespace) =>
          customResourceInformer<AnyObject>({
            kc: opts.kc,
            resource: resourceOf(crd),
            namespace,
            labelSelector: opts.labelSelector,
            resyncIntervalMs: opts.resyncIntervalMs,
            logger: opts.logger,
            onUpsert: () => this.changed(),
            onDelete: () => this.changed(),
            onSynced: () => this.synced(),
          }),
        ),
      );
    }
  }

  start(): void {
    for (const list of this.informers.values()) for (const i of list) i.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all([...this.informers.values()].flat().map((i) => i.stop()));
  }

  private get allSynced(): boolean {
    return [...this.informers.values()].flat().every((i) => i.hasSynced);
  }

  private changed(): void {
    if (this.stopped || this.timer || !this.allSynced) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rebuild();
    }, this.opts.coalesceMs ?? 10);
  }

  /** A relist finished: the first time for every kind means the index is complete. */
  private synced(): void {
    if (!this.allSynced || this.stopped) return;
    if (!this.opts.index.loaded) {
      this.rebuild();
      this.opts.index.markLoaded();
      this.opts.logger.info('extension index loaded', { objects: this.opts.index.current().size });
      return;
    }
    this.opts.index.confirm();
  }

  private list<T>(slot: keyof typeof watchedCrds): T[] {
    return (this.informers.get(slot) ?? []).flatMap((i) => i.list()) as T[];
  }

  rebuild(): void {
    const started = Date.now();
    const snapshot = this.opts.index.replace(
      indexContentFrom(
        {
          services: this.list<TailscaleServices>('services'),
          endpoints: this.list<TailscaleEndpoints>('endpoints'),
          proxyGroups: this.list<TailscaleProxyGroup>('proxyGroups'),
          gateways: this.list<TailscaleGateway>('gateways'),
          policies: this.list<TailscaleRoutePolicy>('policies'),
        },
        { clusterDomain: this.opts.clusterDomain },
      ),
    );
    this.opts.logger.debug('extension index rebuilt', {
      version: snapshot.version,
      objects: snapshot.size,
      ms: Date.now() - started,
    });
  }
}
