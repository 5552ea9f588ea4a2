import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { hasShippedPatch } from './patches';
import { msToNumber } from '@temporalio/common/lib/time';
import type { Activities } from '../activities';
import { byCodeUnits } from './order';
import { claimRefusedOutcome, decideClaims, type ClaimDecision } from './vip-claims';
import { hostPollDelayMs, hostsReadiness, maxHostPolls } from './vip-hosts';
import {
  vipConsumerSignal,
  vipHostsChangedSignal,
  vipStateQuery,
  vipStatusSignal,
  type VipConsumerChange,
  type VipServiceReport,
} from './messages';
import { backoffMs } from './backoff';
import { remoteActivityOptions, retryPolicies } from './retry-policies';
import { vipServiceDetails } from './ui-summary';

const remote = proxyActivities<Activities>(remoteActivityOptions('45s', retryPolicies.vipService));
// The report to the consumers goes out in the same workflow task as the result.
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '45s',
  retry: retryPolicies.vipService,
});

export interface VipServiceWorkflowInput {
  tailnet: string;
  serviceName: string;
  /** Carried across continue-as-new. */
  consumers?: Record<string, VipConsumerChange>;
  pendingRemovals?: VipConsumerChange[];
  /** Carried across continue-as-new: Tailscale's refusal of the name, and the consumers' specs it refused. */
  nameClash?: { specs: string; report: VipServiceReport };
}

/** Re-verify the service this often while consumers exist (repairs drift; reads only when nothing changed). */
const recheckInterval = '4h';
/** Linger this long with no local consumer before finishing, so a quick re-add reuses this run. */
const idleGrace = '2m';
const maxFailureBackoffMs = 15 * 60_000;
/**
 * Read the service again this long after each of our writes. The API has no ETag: a peer that read
 * before our write and writes after our read-back silently undoes it (our registry entry lost, a
 * deleted service back); this catches such a late overwrite in seconds instead of at the recheck.
 */
const settleDelayMs = 3_000;
// Outcomes that wrote (a non-owner's SpecMismatch may not have: it is left to the recheck).
const wroteOutcomes = new Set(['Created', 'Attached', 'Updated', 'Detached', 'Deleted']);
/**
 * Versions attach and detach as local activities: no activity task dispatched and completed through the
 * server. A creation still gets its settle read: two operators that both found the name free both
 * "create", and the later PUT silently replaces the earlier one's registry entry.
 */
const fewerRoundTripsPatch = 'vip-fewer-round-trips';
const vipActivities = () => (hasShippedPatch(fewerRoundTripsPatch) ? local : remote);
/** Versions reporting only to the consumers whose current change the finished activity acted on. */
const answeredOnlyPatch = 'vip-report-answered-only';
/** The failure when the service name is a device's (activities/tailscale/errors.ts). */
const nameClashError = 'TailscaleNameClash';
/** Versions waiting, once Tailscale refused the name as a device's, until a consumer's spec changes. */
const nameClashPatch = 'vip-wait-on-name-clash';
/** Versions the claim decision: the first object created owns the spec; other namespaces need its grant. */
const claimsPatch = 'vip-claims-by-creation';
/** Versions reporting the service's hosts, and looking again soon while none is approved. */
const hostsPatch = 'vip-ready-needs-approved-host';
/**
 * Versions a pass that only read (a consumer's change, news of hosts) before the settle read was due
 * keeping that settle read: before, such a pass dropped it.
 */
const keepSettlePatch = 'vip-keep-settle-after-read';

/**
 * `vip/<tailnet>/<svc>`: the only writer of one VIP service in this operator. It serializes every local
 * change (consumers joining, updating, leaving), creates or attaches through the shared registry, detaches
 * when the last local consumer leaves, and reports the outcome to each consumer workflow.
 */
export async function vipServiceWorkflow(input: VipServiceWorkflowInput): Promise<void> {
  const run = new VipServiceRun(input);
  for (;;) {
    const woke = await run.waitForChange();
    if (run.nothingLeft(woke)) return;
    await run.pass(woke);
    await run.rollOverIfLong();
  }
}

/** What the workflow holds between passes; signal handlers add consumer changes. */
class VipServiceRun {
  private readonly consumers: Map<string, VipConsumerChange>;
  private readonly pendingRemovals: VipConsumerChange[];
  private dirty: boolean;
  private last: VipServiceReport | undefined;
  /** What each consumer workflow was last told (see report). */
  private readonly reported = new Map<string, string>();
  private failures = 0;
  private settling = false;
  /** Workflow time (ms) the settle read of the last write is due; set when its wait starts. */
  private settleAt: number | undefined;
  /** A proxy began advertising the service since the last pass (vipHostsChangedSignal). */
  private hostsChanged = false;
  /** Set while Tailscale refuses the name as a device's: the consumers' specs it refused. */
  private clashedSpecs: string | undefined;
  /** Host polls since the last consumer change (bounded: maxHostPolls). */
  private hostPolls = 0;
  /** Whether the current wait is a host poll. */
  private pollingHosts = false;

  constructor(private readonly input: VipServiceWorkflowInput) {
    this.consumers = new Map(Object.entries(input.consumers ?? {}));
    this.pendingRemovals = [...(input.pendingRemovals ?? [])];
    this.dirty = this.consumers.size > 0 || this.pendingRemovals.length > 0;
    this.last = input.nameClash?.report;
    this.clashedSpecs = input.nameClash?.specs;
    setHandler(vipConsumerSignal, (change) => {
      if (change.remove) {
        this.consumers.delete(change.consumerWorkflowId);
        this.pendingRemovals.push(change);
      } else {
        this.consumers.set(change.consumerWorkflowId, change);
      }
      this.dirty = true;
    });
    setHandler(vipHostsChangedSignal, () => {
      this.hostsChanged = true;
    });
    setHandler(vipStateQuery, () => ({
      serviceName: input.serviceName,
      localConsumers: [...this.consumers.keys()],
      last: this.last,
    }));
  }

  /**
   * Until a consumer's change or the chosen timer: the failure backoff, the settle check, a host poll
   * (approval and a proxy coming up reach us through no event), the recheck, or the idle grace. True
   * when a change woke it.
   */
  async waitForChange(): Promise<boolean> {
    const { consumers, failures, settling } = this;
    if (settling) this.settleAt ??= Date.now() + settleDelayMs;
    const pollHosts =
      !failures &&
      !settling &&
      consumers.size > 0 &&
      this.hostPolls < maxHostPolls &&
      awaitingHosts(this.last);
    const wait = failures
      ? backoffMs(failures, 5000, maxFailureBackoffMs)
      : settling
        ? Math.max(1, (this.settleAt ?? 0) - Date.now())
        : pollHosts
          ? hostPollDelayMs(this.hostPolls)
          : consumers.size
            ? recheckInterval
            : idleGrace;
    this.pollingHosts = pollHosts;
    setCurrentDetails(
      vipServiceDetails({
        tailnet: this.input.tailnet,
        serviceName: this.input.serviceName,
        consumers: [...consumers.values()].map((c) => c.route).sort(byCodeUnits),
        last: this.last,
        nextCheckMs: this.clashedSpecs === undefined ? msToNumber(wait) : undefined,
        failures,
        settling,
        pollHosts,
      }),
    );
    // Refused as a device's name: no timer, only a consumer's change can make trying again worth it.
    return this.clashedSpecs === undefined
      ? await condition(() => this.dirty || this.hostsNewsToRead(), wait)
      : await condition(() => this.dirty).then(() => true);
  }

  /**
   * News of hosts is worth a read while consumers wait for an approved host and no failure backs off:
   * once the settle read found one, news that a second proxy advertises can wait for the recheck.
   */
  private hostsNewsToRead(): boolean {
    return this.hostsChanged && this.consumers.size > 0 && !this.failures && awaitingHosts(this.last);
  }

  /** Nothing left to do: no consumer, nothing to remove or retry, and the idle grace passed unchanged. */
  nothingLeft(woke: boolean): boolean {
    const idle = this.consumers.size === 0 && this.pendingRemovals.length === 0;
    return !woke && idle && this.failures === 0 && !this.settling;
  }

  /** Applies the consumers' changes to the service (attach, or detach the last), then answers them. */
  async pass(woke: boolean): Promise<void> {
    this.hostPolls = woke ? 0 : this.pollingHosts ? this.hostPolls + 1 : this.hostPolls;
    this.dirty = false;
    this.hostsChanged = false;
    const { consumers } = this;
    const removals = this.pendingRemovals.splice(0);
    const processed = new Map(consumers);
    // Without the patch (histories of earlier versions) every consumer is a member, ordered by route.
    const claims = hasShippedPatch(claimsPatch)
      ? decideClaims(this.input.serviceName, consumers.values())
      : undefined;
    const members = claims ? new Map(claims.members.map((c) => [c.consumerWorkflowId, c])) : consumers;
    const { last } = this;
    if (
      last &&
      this.clashedSpecs !== undefined &&
      !removals.length &&
      specsOf(consumers) === this.clashedSpecs
    ) {
      // Nothing the refusal depends on changed: answer with it, without asking Tailscale again.
      await report(last, consumers, consumers, [], this.reported, claims);
      return;
    }
    this.clashedSpecs = undefined;
    const { outcome, removalReport } = await this.change(members, claims, removals);
    // A consumer that joined or changed while the activity ran has not been answered: the next
    // iteration (dirty is set) is its answer. Telling it this one's outcome, e.g. the NotAttached
    // of a settle check that started just before it joined, would end its pass with a wrong status.
    const answered = hasShippedPatch(answeredOnlyPatch)
      ? new Map([...consumers].filter(([id, change]) => processed.get(id) === change))
      : consumers;
    if (removalReport) {
      await report(outcome, answered, consumers, [], this.reported, claims);
      await report(removalReport, new Map(), consumers, removals, this.reported, claims);
    } else await report(outcome, answered, consumers, removals, this.reported, claims);
    upsertMemo({
      vipService: this.input.serviceName,
      tailnet: this.input.tailnet,
      addresses: outcome.addresses,
      // Installs with an entry in the service's registry (this one included), vs this install's objects.
      operatorsAttached: outcome.consumers,
      localConsumers: [...members.values()].map((c) => c.route),
      ...(claims?.refused.size ? { refusedConsumers: [...claims.refused.keys()] } : {}),
      outcome: outcome.outcome,
      lastError: outcome.error ?? null,
    });
  }

  /**
   * Attaches the members (or detaches when none is left), recording the outcome; on failure, the
   * removals wait for the retry, except when Tailscale refuses the name as a device's (no service can
   * exist under it): then the removals are done and the rest waits for a consumer's change.
   */
  private async change(
    members: Map<string, VipConsumerChange>,
    claims: ClaimDecision | undefined,
    removals: VipConsumerChange[],
  ): Promise<{ outcome: VipServiceReport; removalReport?: VipServiceReport }> {
    try {
      this.last = members.size ? await attach(this.input, members, claims) : await detach(this.input);
      this.failures = 0;
      const wrote = wroteOutcomes.has(this.last.outcome) && hasShippedPatch('vip-settle-check');
      const settleDue = !wrote && this.settling && Date.now() < (this.settleAt ?? 0);
      this.settling = wrote || (settleDue && hasShippedPatch(keepSettlePatch));
      if (!this.settling || wrote) this.settleAt = undefined;
      return { outcome: this.last };
    } catch (err) {
      this.settling = false;
      const failed = failureReport(this.input.serviceName, err, this.consumers);
      this.last = failed;
      let removalReport: VipServiceReport | undefined;
      if (failed.errorType === nameClashError && hasShippedPatch(nameClashPatch)) {
        this.clashedSpecs = specsOf(this.consumers);
        this.failures = 0;
        removalReport = { ...failed, outcome: 'NotFound', error: undefined, errorType: undefined };
      } else {
        this.failures++;
        this.pendingRemovals.unshift(...removals);
      }
      log.warn('VIP service change failed; will retry', {
        service: this.input.serviceName,
        error: failed.error,
        failures: this.failures,
      });
      return { outcome: failed, removalReport };
    }
  }

  /** Continues as new once history is long, carrying the consumers, pending removals and a refusal. */
  async rollOverIfLong(): Promise<void> {
    if (!workflowInfo().continueAsNewSuggested) return;
    await condition(allHandlersFinished);
    const { clashedSpecs, last } = this;
    await continueAsNew<typeof vipServiceWorkflow>({
      ...this.input,
      consumers: Object.fromEntries(this.consumers),
      pendingRemovals: this.pendingRemovals,
      nameClash: clashedSpecs !== undefined && last ? { specs: clashedSpecs, report: last } : undefined,
    });
  }
}

/** Every consumer's spec (what a refused name's retry waits on a change of). */
const specsOf = (consumers: Map<string, VipConsumerChange>) =>
  JSON.stringify(
    [...consumers.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, c]) => [id, c.spec ?? null]),
  );

async function attach(
  input: VipServiceWorkflowInput,
  members: Map<string, VipConsumerChange>,
  claims: ClaimDecision | undefined,
): Promise<VipServiceReport> {
  const ordered = [...members.values()].sort((a, b) => byCodeUnits(a.route, b.route));
  const spec = appliedSpecOf(members, claims)?.spec;
  if (!spec) throw ApplicationFailure.nonRetryable('no consumer carries a VIP service spec', 'BUG');
  const result = await vipActivities().attachVipService({
    tailnet: input.tailnet,
    serviceName: input.serviceName,
    spec,
    routes: ordered.map((c) => c.route),
    devices: [...new Set(ordered.flatMap((c) => c.devices ?? []))].sort(),
  });
  const attached = result.outcome !== 'NotOwned';
  return {
    serviceName: input.serviceName,
    ackRequestId: 0,
    attached,
    outcome: result.outcome,
    addresses: result.addresses,
    ownerOperator: result.ownerOperator,
    consumers: result.consumers,
    message: result.message,
    // Results recorded before the activity read hosts have none: those histories report none.
    ...(result.hosts && hasShippedPatch(hostsPatch) ? { hosts: result.hosts } : {}),
  };
}

/** Attached, hosts read, and no advertising host approved (or none advertising): not Ready yet. */
function awaitingHosts(report: VipServiceReport | undefined): boolean {
  if (!report?.attached || report.error) return false;
  const readiness = hostsReadiness(report.serviceName, report.hosts);
  return readiness !== undefined && !readiness.ready;
}

async function detach(input: VipServiceWorkflowInput): Promise<VipServiceReport> {
  let result: Awaited<ReturnType<Activities['detachVipService']>>;
  try {
    result = await vipActivities().detachVipService({
      tailnet: input.tailnet,
      serviceName: input.serviceName,
    });
  } catch (err) {
    // A name Tailscale refuses as a device's holds no service: nothing is left to detach from.
    if (failureType(err) !== nameClashError || !hasShippedPatch(nameClashPatch)) throw err;
    result = {
      outcome: 'NotFound',
      consumers: 0,
      message: `${input.serviceName} does not exist: Tailscale refuses the name as a device's`,
      lostUpdates: 0,
    };
  }
  return {
    serviceName: input.serviceName,
    ackRequestId: 0,
    attached: false,
    outcome: result.outcome,
    addresses: [],
    consumers: result.consumers,
    message: result.message,
  };
}

function failureReport(
  serviceName: string,
  err: unknown,
  consumers: Map<string, VipConsumerChange>,
): VipServiceReport {
  const cause = causeOf(err);
  const message = cause instanceof Error ? cause.message : String(cause);
  const type = failureType(err);
  return {
    serviceName,
    ackRequestId: 0,
    attached: false,
    outcome: 'Error',
    addresses: [],
    consumers: consumers.size,
    message,
    error: type ? `${type}: ${message}` : message,
    errorType: type,
  };
}

const causeOf = (err: unknown) =>
  err instanceof Error && 'cause' in err && err.cause instanceof Error ? err.cause : err;

function failureType(err: unknown): string | undefined {
  const cause = causeOf(err);
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/**
 * Every local member shares one spec: the owner's by claim (workflows/vip-claims.ts), or in histories
 * of earlier versions the first consumer's by route.
 */
function appliedSpecOf(
  consumers: Map<string, VipConsumerChange>,
  claims: ClaimDecision | undefined,
): VipConsumerChange | undefined {
  if (claims) return claims.owner;
  return [...consumers.values()].sort((a, b) => byCodeUnits(a.route, b.route)).find((c) => c.spec);
}

const specText = (spec: VipConsumerChange['spec']) =>
  `ports ${JSON.stringify([...(spec?.ports ?? [])].sort())}, tags ${JSON.stringify([...(spec?.tags ?? [])].sort())}` +
  (spec?.comment === undefined ? '' : `, comment ${JSON.stringify(spec.comment)}`);

/**
 * Local objects claiming one VIP service with different specs: the one whose spec is not applied hears
 * SpecMismatch naming the one whose spec is, and that one hears which objects disagree with it.
 */
function withLocalConflicts(
  base: VipServiceReport,
  consumer: VipConsumerChange,
  consumers: Map<string, VipConsumerChange>,
  claims: ClaimDecision | undefined,
): VipServiceReport {
  const refusal = claims?.refused.get(consumer.consumerWorkflowId);
  if (refusal) {
    // Told nothing of the service (not its addresses): only who owns it and how to get access.
    return {
      serviceName: base.serviceName,
      ackRequestId: base.ackRequestId,
      consumerRunId: base.consumerRunId,
      attached: false,
      outcome: claimRefusedOutcome,
      addresses: [],
      consumers: 0,
      message: refusal,
    };
  }
  const sharing = claims ? new Map(claims.members.map((c) => [c.consumerWorkflowId, c])) : consumers;
  const applied = appliedSpecOf(sharing, claims);
  if (!base.attached || base.error || !applied) return base;
  const differs = (c: VipConsumerChange) => Boolean(c.spec) && specText(c.spec) !== specText(applied.spec);
  if (consumer !== applied) {
    if (!differs(consumer)) return base;
    return {
      ...base,
      outcome: 'SpecMismatch',
      message:
        `${applied.route} also uses ${base.serviceName}, and its spec.vipService (${specText(applied.spec)}) is ` +
        `the one applied; this object's differs (${specText(consumer.spec)}) and is not: align them, or choose another spec.vipService.name`,
    };
  }
  const owned = ownerView(base);
  const others = [...sharing.values()].filter(differs).map((c) => c.route);
  if (!others.length) return owned;
  return {
    ...owned,
    message: `${owned.message}; ${others.sort().join(', ')} also use(s) ${base.serviceName} with a different spec.vipService, not applied`,
  };
}

/** The report to this install's owner: when another install's spec is applied, what it can do about it. */
function ownerView(base: VipServiceReport): VipServiceReport {
  if (base.outcome !== 'SpecMismatch') return { ...base, specOwner: true };
  const owner = base.ownerOperator ?? 'another operator';
  return {
    ...base,
    specOwner: true,
    message:
      `${base.message}; as this install's owner of ${base.serviceName} it is not Ready while operator ${owner}'s ` +
      `spec is applied: align it, or take ownership by having operator ${owner}'s objects leave ` +
      `${base.serviceName} (this install's spec is then applied)`,
  };
}

/**
 * Versions sending the reports from a local activity in the task that decided them: as signal commands
 * each took one more workflow task, the server's acknowledgement, before the workflow went on.
 */
const reportsAlongsidePatch = 'vip-reports-in-the-deciding-task';

/** What each answered consumer, and each removal no longer a consumer, is to be told. */
function reportsFor(
  base: VipServiceReport,
  answered: Map<string, VipConsumerChange>,
  consumers: Map<string, VipConsumerChange>,
  removals: VipConsumerChange[],
  claims: ClaimDecision | undefined,
): { consumer: VipConsumerChange; message: VipServiceReport }[] {
  return [
    ...[...answered.values()].map((c) => ({
      consumer: c,
      message: withLocalConflicts(
        { ...base, ackRequestId: c.requestId, consumerRunId: c.consumerRunId },
        c,
        consumers,
        claims,
      ),
    })),
    ...removals
      .filter((r) => !consumers.has(r.consumerWorkflowId))
      .map((r) => ({
        consumer: r,
        message: {
          ...base,
          attached: false,
          ackRequestId: r.requestId,
          consumerRunId: r.consumerRunId,
          addresses: base.error ? [] : base.addresses,
        },
      })),
  ];
}

/**
 * Tells each answered consumer (and each removal no longer a consumer) what happened, only when it
 * differs from what that consumer last heard.
 */
async function report(
  base: VipServiceReport,
  answered: Map<string, VipConsumerChange>,
  consumers: Map<string, VipConsumerChange>,
  removals: VipConsumerChange[],
  reported: Map<string, string>,
  claims: ClaimDecision | undefined,
): Promise<void> {
  const news = reportsFor(base, answered, consumers, removals, claims)
    .map(({ consumer, message }) => ({ consumer, message, key: JSON.stringify(message) }))
    .filter(({ consumer, key }) => reported.get(consumer.consumerWorkflowId) !== key);
  if (hasShippedPatch(reportsAlongsidePatch)) {
    if (!news.length) return;
    const { unreachable } = await local.reportToVipConsumers({
      reports: news.map(({ consumer, message }) => ({
        consumerWorkflowId: consumer.consumerWorkflowId,
        report: message,
      })),
    });
    for (const { consumer, key } of news) {
      if (unreachable.includes(consumer.consumerWorkflowId)) {
        log.info('consumer workflow unreachable', { consumer: consumer.consumerWorkflowId });
      } else reported.set(consumer.consumerWorkflowId, key);
    }
    return;
  }
  for (const { consumer, message, key } of news) {
    try {
      await getExternalWorkflowHandle(consumer.consumerWorkflowId).signal(vipStatusSignal, message);
      reported.set(consumer.consumerWorkflowId, key);
    } catch (err) {
      // The consumer finished meanwhile (e.g. deleted without waiting): nobody left to tell.
      log.info('consumer workflow unreachable', {
        consumer: consumer.consumerWorkflowId,
        error: String(err),
      });
    }
  }
}
