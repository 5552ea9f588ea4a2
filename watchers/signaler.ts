import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { Histogram } from 'prom-client';
import type { Logger } from '../runtime/logger';
import { inSpan } from '../runtime/spans';
import { metricsRegistry } from '../runtime/metrics';
import { objectChangedSignal, objectDeletedSignal } from '../workflows/messages';
import type { ObjectSnapshot } from '../workflows/types';
import { Backoff } from '../runtime/backoff';
import type { TemporalHealth } from './temporal-health';

export type WorkflowDelivery =
  | {
      kind: 'changed';
      workflowId: string;
      workflowType: string;
      /** Start arguments, used only when no workflow with this id is running. */
      startArgs: unknown[];
      snapshot: ObjectSnapshot<unknown>;
      searchAttributes: SearchAttributePair[];
      memo?: Record<string, unknown>;
      /** Equal fingerprints mean nothing a workflow cares about changed: the signal is skipped. */
      fingerprint: string;
      /**
       * The fingerprint without our finalizer. When the workflow last got exactly that, this change is
       * the echo of the finalizer its pass added, which it holds already: the signal is skipped.
       */
      beforeOurFinalizer?: string;
    }
  | { kind: 'deleted'; workflowId: string; uid?: string };

export interface SignalerOptions {
  client: Client;
  taskQueue: string;
  logger: Logger;
  concurrency?: number;
  /** Deadline of each Temporal call: a hung server fails the call instead of holding it forever. */
  callTimeoutMs?: number;
  /** Told of each call's success or failure (outage log and readiness). */
  health?: TemporalHealth;
}

export interface SignalerStats {
  delivered: number;
  skippedUnchanged: number;
  /** Changes that were only the echo of a finalizer our workflow added. */
  skippedOwnFinalizer: number;
  retries: number;
  /** Workflows whose last acted-on fingerprint was read from Temporal at startup. */
  seeded: number;
}

const signalLatency = new Histogram({
  name: 'tsgw_watch_event_to_signal_seconds',
  help: 'From a watch event (the first not yet delivered for a workflow) to its signal accepted by Temporal.',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [metricsRegistry],
});

/**
 * A keyed work queue in front of Temporal: per workflow id only the newest delivery is kept, at most one
 * is in flight, failures retry with backoff, and a change identical to the last one delivered is dropped
 * (an operator's own status writes, resync relists), so idle objects cost no Temporal actions.
 */
export class WorkflowSignaler {
  private readonly queued = new Map<string, WorkflowDelivery>();
  private readonly inFlight = new Set<string>();
  private readonly delivered = new Map<string, string>();
  private readonly backoffs = new Map<string, Backoff>();
  /** When the oldest change not yet delivered for each workflow was queued. */
  private readonly waitingSince = new Map<string, number>();
  private readonly concurrency: number;
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  /** While the fingerprints the workflows hold are being read, changes queue up unsent. */
  private seeding = false;
  readonly stats: SignalerStats = {
    delivered: 0,
    skippedUnchanged: 0,
    skippedOwnFinalizer: 0,
    retries: 0,
    seeded: 0,
  };

  constructor(private readonly opts: SignalerOptions) {
    this.concurrency = opts.concurrency ?? 16;
  }

  enqueue(delivery: WorkflowDelivery): void {
    if (this.skipIfActedOn(delivery)) {
      this.queued.delete(delivery.workflowId);
      return;
    }
    this.queued.set(delivery.workflowId, delivery);
    if (!this.waitingSince.has(delivery.workflowId)) this.waitingSince.set(delivery.workflowId, Date.now());
    this.pump();
  }

  /**
   * Holds deliveries until `read` yields what each running workflow has already acted on (workflow id →
   * fingerprint), then drops the queued changes they hold: a restarted watcher's initial list signals
   * only what changed while it was away. If the read fails, everything is delivered as before.
   */
  async seed(read: () => Promise<Map<string, string>>): Promise<void> {
    this.seeding = true;
    try {
      for (const [id, fingerprint] of await read()) {
        if (this.delivered.has(id)) continue;
        this.delivered.set(id, fingerprint);
        this.stats.seeded++;
      }
      for (const [id, d] of this.queued) {
        if (this.skipIfActedOn(d)) {
          this.queued.delete(id);
          this.waitingSince.delete(id);
        }
      }
    } catch (err) {
      this.opts.logger.warn('could not read what the workflows have seen; signalling every object', {
        error: err instanceof Error ? err.message : String(err),
      });
    } finally {
      this.seeding = false;
      this.pump();
      if (!this.queued.size && !this.inFlight.size) this.idleWaiters.splice(0).forEach((w) => w());
    }
  }

  /** Resolves once nothing is queued or in flight (tests, graceful shutdown). */
  whenIdle(): Promise<void> {
    if (!this.seeding && !this.queued.size && !this.inFlight.size) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
  }

  private pump(): void {
    if (this.stopped || this.seeding) return;
    for (const [id, delivery] of this.queued) {
      if (this.inFlight.size >= this.concurrency) break;
      if (this.inFlight.has(id)) continue;
      this.queued.delete(id);
      // Queued behind a delivery that has since made it redundant.
      if (this.skipIfActedOn(delivery)) {
        this.waitingSince.delete(id);
        continue;
      }
      this.inFlight.add(id);
      void this.deliver(delivery).finally(() => {
        this.inFlight.delete(id);
        this.pump();
        if (!this.queued.size && !this.inFlight.size) this.idleWaiters.splice(0).forEach((w) => w());
      });
    }
  }

  /**
   * Counts and skips a change the workflow has acted on already: the same fingerprint as the last one it
   * got, or the echo of the finalizer its own pass added (which it holds from then on).
   */
  private skipIfActedOn(d: WorkflowDelivery): boolean {
    if (d.kind !== 'changed') return false;
    const actedOn = this.delivered.get(d.workflowId);
    if (actedOn === undefined) return false;
    if (actedOn === d.fingerprint) {
      this.stats.skippedUnchanged++;
      return true;
    }
    if (actedOn !== d.beforeOurFinalizer) return false;
    this.delivered.set(d.workflowId, d.fingerprint);
    this.stats.skippedOwnFinalizer++;
    return true;
  }

  private async deliver(delivery: WorkflowDelivery): Promise<void> {
    try {
      // The root of one change's trace: the client interceptor carries it into the workflow's headers.
      await inSpan(`watcher signal ${delivery.kind}`, { 'workflow.id': delivery.workflowId }, () =>
        this.opts.client.withDeadline(Date.now() + (this.opts.callTimeoutMs ?? 10_000), () =>
          delivery.kind === 'changed' ? this.signalWithStart(delivery) : this.signalDeleted(delivery),
        ),
      );
      this.opts.health?.succeeded();
      this.backoffs.delete(delivery.workflowId);
      this.stats.delivered++;
      const since = this.waitingSince.get(delivery.workflowId);
      // Only when nothing newer waits: a change queued during the call is delivered (and timed) next.
      if (since !== undefined && !this.queued.has(delivery.workflowId)) {
        this.waitingSince.delete(delivery.workflowId);
        signalLatency.observe((Date.now() - since) / 1000);
      }
    } catch (err) {
      const backoff = this.backoffs.get(delivery.workflowId) ?? new Backoff(500, 30_000);
      this.backoffs.set(delivery.workflowId, backoff);
      const delay = backoff.nextDelayMs();
      this.stats.retries++;
      this.opts.health?.failed(err);
      this.opts.logger.warn('signal to workflow failed; retrying', {
        workflowId: delivery.workflowId,
        error: err instanceof Error ? err.message : String(err),
        retryInMs: delay,
      });
      await new Promise((r) => setTimeout(r, delay));
      // A newer delivery queued meanwhile supersedes this one.
      if (!this.queued.has(delivery.workflowId)) this.queued.set(delivery.workflowId, delivery);
    }
  }

  private async signalWithStart(d: Extract<WorkflowDelivery, { kind: 'changed' }>): Promise<void> {
    await this.opts.client.workflow.signalWithStart(d.workflowType, {
      workflowId: d.workflowId,
      taskQueue: this.opts.taskQueue,
      args: d.startArgs,
      signal: objectChangedSignal,
      signalArgs: [d.snapshot],
      typedSearchAttributes: d.searchAttributes,
      memo: d.memo,
    });
    this.delivered.set(d.workflowId, d.fingerprint);
  }

  private async signalDeleted(d: Extract<WorkflowDelivery, { kind: 'deleted' }>): Promise<void> {
    this.delivered.delete(d.workflowId);
    try {
      await this.opts.client.workflow.getHandle(d.workflowId).signal(objectDeletedSignal, { uid: d.uid });
    } catch (err) {
      // Nothing running for it (already finished its cleanup): the deletion needs no one.
      if (err instanceof WorkflowNotFoundError) return;
      throw err;
    }
  }
}
