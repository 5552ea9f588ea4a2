import { setHeaderOptions, Watch, type ConfigurationOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../runtime/logger';
import { Backoff, sleep } from '../runtime/backoff';
import { kubeErrorMessage, kubeStatusCode } from '../activities/kubernetes/errors';

export interface ListPage<T> {
  items: T[] | null;
  metadata?: { resourceVersion?: string; continue?: string };
}

/** What the informer needs of an object: its identity and version. */
export interface Watchable {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface InformerOptions<T extends Watchable> {
  name: string;
  kc: KubeConfig;
  /** Collection path for the watch, e.g. /apis/gateway.tailscale.com/v1alpha1/tailscaletailnets. */
  path: string;
  /** One page; pass `options` on to the client-node call (it carries the metadata-only Accept header). */
  list(opts: { limit: number; continue?: string; options?: ConfigurationOptions }): Promise<ListPage<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Full relist this often, independently of the watch (catches anything a watch could have missed). */
  resyncIntervalMs: number;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long: a half-open stream. */
  idleTimeoutMs?: number;
  logger: Logger;
  onUpsert(obj: T): void;
  onDelete(obj: T): void;
  /** After each successful (re)list: every object is in the cache. */
  onSynced?(objects: T[]): void;
  /** Keep whole objects in the cache (default). Off: only names are kept, e.g. for Secrets. */
  keepObjects?: boolean;
  /**
   * Ask the API server for PartialObjectMetadata: lists and watch events then carry each object's
   * metadata only (names, labels, resourceVersion), never its spec or data.
   */
  metadataOnly?: boolean;
}

export interface InformerStats {
  lists: number;
  watches: number;
  restarts: number;
  gone410: number;
}

const pageSize = 500;

/** The Accept headers of the metadata-only API (what client-go's metadata informers send, as JSON). */
export const partialObjectMetadataAccept = {
  list: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
  watch: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
};

/** The same credentials, with `accept` on every request client-node's Watch makes. */
function withAccept(kc: KubeConfig, accept: string): KubeConfig {
  const wrapped = Object.create(kc) as KubeConfig;
  wrapped.applyToFetchOptions = async (opts) => {
    const init = await kc.applyToFetchOptions(opts);
    (init.headers as { set(name: string, value: string): void }).set('Accept', accept);
    return init;
  };
  return wrapped;
}

/**
 * List-then-watch with the resilience client-node's own informer lacks: restart with jittered backoff on
 * any error, relist on 410 Gone, bookmarks to keep the resourceVersion fresh, a watchdog for silent
 * streams, and a periodic relist. Events are level-triggered upserts; consumers must be idempotent.
 */
export class Informer<T extends Watchable> {
  private readonly cache = new Map<string, T>();
  private readonly keep: boolean;
  private resourceVersion = '';
  private readonly stopController = new AbortController();
  private activeWatch: AbortController | undefined;
  private readonly backoff = new Backoff();
  private lastListAt = 0;
  private loop: Promise<void> | undefined;
  readonly stats: InformerStats = { lists: 0, watches: 0, restarts: 0, gone410: 0 };
  private synced = false;

  /** e.g. `tailscaleservices/team-a`: the metrics' `informer` label. */
  get name(): string {
    return this.opts.name;
  }

  constructor(private readonly opts: InformerOptions<T>) {
    this.keep = opts.keepObjects ?? true;
  }

  private remember(key: string, obj: T): void {
    this.cache.set(
      key,
      this.keep ? obj : ({ metadata: { name: obj.metadata?.name, namespace: obj.metadata?.namespace } } as T),
    );
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.activeWatch?.abort();
    await this.loop;
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  private get stopped() {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    const log = this.opts.logger.child({ informer: this.opts.name });
    while (!this.stopped) {
      try {
        const resyncDue = Date.now() - this.lastListAt >= this.opts.resyncIntervalMs;
        if (!this.resourceVersion || resyncDue) await this.relist();
        await this.watchOnce();
        this.backoff.reset();
      } catch (err) {
        if (this.stopped) break;
        if (kubeStatusCode(err) === 410) {
          this.stats.gone410++;
          this.resourceVersion = '';
          log.info('watch expired (410 Gone); relisting');
          continue;
        }
        this.stats.restarts++;
        const delay = this.backoff.nextDelayMs();
        log.warn('watch failed; restarting', {
          error: errorText(err),
          retryInMs: delay,
          failures: this.backoff.failures,
        });
        await sleep(delay, this.stopController.signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const seen = new Map<string, T>();
    let cont: string | undefined;
    let resourceVersion = '';
    const options = this.opts.metadataOnly
      ? setHeaderOptions('Accept', partialObjectMetadataAccept.list)
      : undefined;
    do {
      const page = await this.opts.list({ limit: pageSize, continue: cont, options });
      // An empty PartialObjectMetadataList comes with `items: null`.
      for (const item of page.items ?? []) seen.set(keyOf(item), item);
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (cont);
    this.stats.lists++;
    this.lastListAt = Date.now();

    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.opts.onDelete(old);
      }
    }
    for (const [key, item] of seen) {
      this.remember(key, item);
      this.opts.onUpsert(item);
    }
    this.resourceVersion = resourceVersion;
    this.synced = true;
    this.opts.onSynced?.(this.list());
  }

  /** Resolves when the server ends the watch normally; rejects on errors (410 included). */
  private watchOnce(): Promise<void> {
    this.stats.watches++;
    const idleTimeoutMs = this.opts.idleTimeoutMs ?? 5 * 60_000;
    const untilResync = Math.max(1, this.opts.resyncIntervalMs - (Date.now() - this.lastListAt));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let idleTimer: NodeJS.Timeout | undefined;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idleTimer);
        clearTimeout(resyncTimer);
        this.activeWatch?.abort();
        if (err)
          reject(
            err instanceof Error
              ? err
              : Object.assign(new Error(errorText(err)), { statusCode: kubeStatusCode(err) }),
          );
        else resolve();
      };
      const armIdle = () => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(
          () => finish(new Error(`no watch event for ${idleTimeoutMs} ms`)),
          idleTimeoutMs,
        );
      };
      // End the watch at the next resync so the loop relists on schedule.
      const resyncTimer = setTimeout(() => finish(), untilResync);
      armIdle();

      const query: Record<string, string | boolean | number> = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
      };
      // No timeoutSeconds: the API server closes each watch after a random time between its
      // --min-request-timeout and twice that, which spreads reconnects of many informers.
      if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
      if (this.opts.fieldSelector) query.fieldSelector = this.opts.fieldSelector;

      const kc = this.opts.metadataOnly
        ? withAccept(this.opts.kc, partialObjectMetadataAccept.watch)
        : this.opts.kc;
      new Watch(kc)
        .watch(
          this.opts.path,
          query,
          (phase: string, obj: T & { code?: number; message?: string }) => {
            armIdle();
            this.handleEvent(phase, obj, finish);
          },
          (err: unknown) => finish(err ?? undefined),
        )
        .then((controller: AbortController) => {
          this.activeWatch = controller;
          if (settled) controller.abort();
        })
        .catch(finish);
    });
  }

  private handleEvent(
    phase: string,
    obj: T & { code?: number; message?: string },
    finish: (err?: unknown) => void,
  ) {
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED':
        this.remember(keyOf(obj), obj);
        this.opts.onUpsert(obj);
        break;
      case 'DELETED':
        this.cache.delete(keyOf(obj));
        this.opts.onDelete(obj);
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR':
        finish(Object.assign(new Error(obj.message ?? 'watch error'), { statusCode: obj.code }));
        return;
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
  }
}

function keyOf(obj: Watchable): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** The API server's own explanation with its status code, never the whole response with its headers. */
function errorText(err: unknown): string {
  const code = kubeStatusCode(err);
  const message = err instanceof Error ? kubeErrorMessage(err) : JSON.stringify(err);
  return code && !message.includes(String(code)) ? `${code}: ${message}` : message;
}
