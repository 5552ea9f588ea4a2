import { condition, setHandler, workflowInfo } from '@temporalio/workflow';
import { hasShippedPatch } from './patches';
import type { Duration } from '@temporalio/common';
import type { SignalVipServiceInput } from '../activities/temporal-signals';
import { vipStatusSignal, type VipServiceReport } from './messages';

/** The activity that signals (or starts) `vip/<tailnet>/<svc>`, as the consumer workflow proxies it. */
export type SignalVipService = (input: SignalVipServiceInput) => Promise<{ signalled: boolean }>;

/** Which VIP service a membership is in, and the consumer object it is recorded as. */
export interface VipTarget {
  tailnet: string;
  serviceName: string;
  route: string;
}

/** A join or an update: the identity of this workflow run is added when it is sent. */
export type VipJoin = Omit<SignalVipServiceInput, 'consumerWorkflowId' | 'consumerRunId' | 'remove'>;

export interface VipConsumerOptions {
  signal: SignalVipService;
  /**
   * The consumer is in one VIP service at a time, and every report of ours is that membership's newest
   * (the answer of a renamed service's old workflow included, as services always took it). Unset: each
   * report belongs to the membership its acknowledged request was sent for, or is dropped.
   */
  single?: boolean;
  /** Replies and requests carried across continue-as-new (memberships keyed by ids.ts vipMembershipKey). */
  reports?: Record<string, VipServiceReport>;
  sent?: Iterable<[number, string]>;
  /**
   * What the last published status showed (`shownKeys()` of the run before continue-as-new): without
   * it, a report arriving in a new run before its first pass was never news, and waited for the recheck.
   */
  shown?: Record<string, string>;
  /** Reports differing from what the last status showed, in `key`, are news that deserves a pass. */
  news?: {
    key: (report: VipServiceReport) => string;
    /**
     * `newest`: news is whether the newest report differs from the last published status (a pass's own
     * reply included). `any`: a differing report in any membership sets it, and each publication
     * judges it again against the reports it has not seen.
     */
    rule: 'newest' | 'any';
  };
}

/** The one membership of a `single` consumer. */
const only = '';

/** What a published status showed of a membership whose latest request had no reply yet. */
const noReplyShown = '(no reply)';
/**
 * Versions a single consumer's reply that comes after its pass stopped waiting being news. Before, a
 * status published without one ("waiting for the VIP service workflow") counted as nothing to compare
 * with, and the late reply waited for the recheck (6 h): 471 of 1,000 services cold, on a saturated
 * machine. (A TailscaleGateway's publications, rule `any`, use `shownOf` under a patch of their own.)
 */
const lateReplyPatch = 'vip-late-reply-is-news';

/**
 * The consumer side of the VIP service protocol (workflows/vip-service.ts): joins, updates and leaves
 * go out through the signal activity with this run's identity; the VIP workflow's reports come back on
 * vipStatusSignal, matched to our requests by request id (replies to an earlier execution of the same
 * workflow id are ignored). Construct it at workflow start: it registers the signal handler.
 */
export class VipConsumer {
  private readonly reports: Map<string, VipServiceReport>;
  private readonly sent: Map<number, string>;
  /** What the last published status showed of each membership's report (news key). */
  private readonly shown: Map<string, string>;
  /** A report the last published status did not show: a pass should publish it. */
  news = false;

  constructor(private readonly options: VipConsumerOptions) {
    this.reports = new Map(Object.entries(options.reports ?? {}));
    this.sent = new Map(options.sent ?? []);
    this.shown = new Map(Object.entries(options.shown ?? {}));
    setHandler(vipStatusSignal, (r) => this.received(r));
  }

  private received(r: VipServiceReport): void {
    if (r.consumerRunId && r.consumerRunId !== workflowInfo().firstExecutionRunId) return;
    const key = this.membershipOf(r.ackRequestId);
    if (key === undefined || (!this.options.single && !key.endsWith(`/${r.serviceName}`))) return;
    const previous = this.reports.get(key);
    if (previous && r.ackRequestId < previous.ackRequestId) return;
    this.reports.set(key, r);
    const news = this.options.news;
    if (!news) return;
    const shown = this.shown.get(key);
    const differs = shown !== undefined && news.key(r) !== shown;
    this.news = news.rule === 'newest' ? differs : this.news || differs;
  }

  private membershipOf(requestId: number): string | undefined {
    return this.options.single ? only : this.sent.get(requestId);
  }

  /**
   * Sends a join or an update; the activity's result says whether it was delivered (`unlessRunning`).
   * Recorded results of versions before that option are empty: callers that ignore it replay them.
   */
  async join(change: VipJoin, key = only): Promise<{ signalled: boolean }> {
    this.track(change.requestId, key);
    const { tailnet, serviceName, ...rest } = change;
    return this.options.signal({ tailnet, serviceName, ...this.identity(), ...rest });
  }

  async leave(target: VipTarget, requestId: number, key = only): Promise<number> {
    this.track(requestId, key);
    await this.options.signal({
      tailnet: target.tailnet,
      serviceName: target.serviceName,
      ...this.identity(),
      route: target.route,
      requestId,
      remove: true,
    });
    return requestId;
  }

  private track(requestId: number, key: string): void {
    if (!this.options.single) this.sent.set(requestId, key);
  }

  private identity() {
    return {
      consumerWorkflowId: workflowInfo().workflowId,
      consumerRunId: workflowInfo().firstExecutionRunId,
    };
  }

  /** The newest report of a membership, whatever request it answers. */
  latest(key = only): VipServiceReport | undefined {
    return this.reports.get(key);
  }

  /** The newest reply to a request at or after `requestId` for that membership, if any. */
  reply(key: string, requestId: number): VipServiceReport | undefined {
    const r = this.reports.get(key);
    return r && r.ackRequestId >= requestId ? r : undefined;
  }

  acked(requestId: number): boolean {
    const key = this.membershipOf(requestId);
    return key !== undefined && this.reply(key, requestId) !== undefined;
  }

  /** Waits until every request is answered, or `timeout`. */
  async replies(requestIds: number[], timeout: Duration): Promise<void> {
    if (requestIds.length) await condition(() => requestIds.every((id) => this.acked(id)), timeout);
  }

  /** The reply a single consumer's request got within `timeout`, if any. */
  async replyTo(requestId: number, timeout: Duration): Promise<VipServiceReport | undefined> {
    await this.replies([requestId], timeout);
    return this.reply(only, requestId);
  }

  /** A pass starts: it sees every report so far. */
  passStarted(): void {
    this.news = false;
  }

  /** The news key of every report now, as a status computed now shows them. */
  seen(): Map<string, string> {
    const news = this.options.news;
    return new Map(news ? [...this.reports].map(([key, r]) => [key, news.key(r)]) : []);
  }

  /**
   * The news key of each membership's reply as a status computed from `replies` shows it; a membership
   * without one shows that it has none, so the reply is news when it comes.
   */
  shownOf(replies: Record<string, VipServiceReport | undefined>): Map<string, string> {
    const news = this.options.news;
    if (!news) return new Map();
    return new Map(Object.entries(replies).map(([key, r]) => [key, r ? news.key(r) : noReplyShown]));
  }

  /**
   * Status computed from `seen` is published: news is what differs from it from now on. With rule `any`,
   * news is then whether `now` (the same view taken after publishing) differs, or else whether any
   * report does.
   */
  published(seen: Map<string, string>, now?: Map<string, string>): void {
    this.shown.clear();
    for (const [key, shown] of seen) this.shown.set(key, shown);
    const news = this.options.news;
    if (news?.rule !== 'any') return;
    this.news = now
      ? [...now].some(([key, shown]) => seen.get(key) !== shown)
      : [...this.reports].some(([key, r]) => seen.has(key) && seen.get(key) !== news.key(r));
  }

  /** What the last published status showed, to carry across continue-as-new (option `shown`). */
  shownKeys(): Record<string, string> {
    return Object.fromEntries(this.shown);
  }

  /** A single consumer's pass published status from `report`, or without one (any reply is news then). */
  publishedReport(report: VipServiceReport | undefined): void {
    const news = this.options.news;
    if (!news) return this.published(new Map());
    if (report) return this.published(new Map([[only, news.key(report)]]));
    this.published(new Map(hasShippedPatch(lateReplyPatch) ? [[only, noReplyShown]] : []));
  }

  /** Forget what no longer matters; the rest is carried in state across continue-as-new. */
  retain(memberships: Record<string, { requestId: number }>): Record<string, VipServiceReport> {
    for (const [id, key] of this.sent) if (memberships[key]?.requestId !== id) this.sent.delete(id);
    for (const key of this.reports.keys()) if (!memberships[key]) this.reports.delete(key);
    return Object.fromEntries(this.reports);
  }
}
