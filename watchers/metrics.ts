import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from '../runtime/metrics';
import type { Informer, InformerStats, Watchable } from './informer';
import type { WorkflowSignaler } from './signaler';
import type { TemporalHealth } from './temporal-health';

export interface WatcherMetricsSource {
  /** Undefined on a standby: it runs no informer. */
  informers(): readonly Informer<Watchable>[];
  signaler(): WorkflowSignaler | undefined;
  /** Undefined on a standby: it makes no Temporal call. */
  temporalHealth(): TemporalHealth | undefined;
  isLeader(): boolean;
}

const informerCounters: [keyof InformerStats, string, string][] = [
  [
    'lists',
    'tsgw_informer_lists_total',
    'Full lists (start, resync, after 410 Gone or a failed watch) per informer.',
  ],
  ['watches', 'tsgw_informer_watches_total', 'Watch streams opened per informer.'],
  [
    'restarts',
    'tsgw_informer_restarts_total',
    'Watches that failed and were restarted with backoff, per informer.',
  ],
  [
    'gone410',
    'tsgw_informer_expired_total',
    'Watches that expired (410 Gone) and forced a relist, per informer.',
  ],
];

/**
 * The watchers' metrics, read from the informers' and signaler's own counters at scrape time (the
 * collect hooks reset and refill them, so they always equal the process's counts).
 */
export function registerWatcherMetrics(source: WatcherMetricsSource): void {
  for (const [stat, name, help] of informerCounters) {
    new Counter({
      name,
      help,
      labelNames: ['informer'] as const,
      registers: [metricsRegistry],
      collect() {
        this.reset();
        for (const informer of source.informers())
          this.inc({ informer: informer.name }, informer.stats[stat]);
      },
    });
  }
  new Gauge({
    name: 'tsgw_informer_synced',
    help: '1 once the informer has listed (its cache is complete).',
    labelNames: ['informer'] as const,
    registers: [metricsRegistry],
    collect() {
      this.reset();
      for (const informer of source.informers())
        this.set({ informer: informer.name }, informer.hasSynced ? 1 : 0);
    },
  });
  new Counter({
    name: 'tsgw_signals_total',
    help: 'Changes handled by the signaler: delivered to Temporal, skipped as unchanged or as the echo of our own finalizer, retried after a failure.',
    labelNames: ['outcome'] as const,
    registers: [metricsRegistry],
    collect() {
      const stats = source.signaler()?.stats ?? {
        delivered: 0,
        skippedUnchanged: 0,
        skippedOwnFinalizer: 0,
        retries: 0,
      };
      this.reset();
      this.inc({ outcome: 'delivered' }, stats.delivered);
      this.inc({ outcome: 'skipped_unchanged' }, stats.skippedUnchanged);
      this.inc({ outcome: 'skipped_own_finalizer' }, stats.skippedOwnFinalizer);
      this.inc({ outcome: 'retried' }, stats.retries);
    },
  });
  new Gauge({
    name: 'tsgw_watchers_temporal_unreachable_seconds',
    help: "Seconds the watchers' Temporal calls (signals, health checks) have failed without a success; 0 while they succeed.",
    registers: [metricsRegistry],
    collect() {
      this.reset();
      const health = source.temporalHealth();
      if (health) this.set(health.unreachableForMs() / 1000);
    },
  });
  new Counter({
    name: 'tsgw_watchers_temporal_failures_total',
    help: "The watchers' Temporal calls that failed or missed their deadline.",
    registers: [metricsRegistry],
    collect() {
      this.reset();
      this.inc(source.temporalHealth()?.failedCalls ?? 0);
    },
  });
  new Gauge({
    name: 'tsgw_watchers_leader',
    help: '1 while this watchers process holds the leader Lease (always 1 without leader election).',
    registers: [metricsRegistry],
    collect() {
      this.set(source.isLeader() ? 1 : 0);
    },
  });
}
