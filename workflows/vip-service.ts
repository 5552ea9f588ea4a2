import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { Activities } from '../activities';
import { byCodeUnits } from './order';
import {
  vipConsumerSignal,
  vipStateQuery,
  vipStatusSignal,
  type VipConsumerChange,
  type VipServiceReport,
} from './messages';

const { attachVipService, detachVipService } = proxyActivities<Activities>({
  startToCloseTimeout: '45s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    maximumAttempts: 12,
    nonRetryableErrorTypes: ['TailnetNotFound', 'InvalidSecret', 'RegistryUnsupported'],
  },
});

export interface VipServiceWorkflowInput {
  tailnet: string;
  serviceName: string;
  /** Carried across continue-as-new. */
  consumers?: Record<string, VipConsumerChange>;
  pendingRemovals?: VipConsumerChange[];
  /** Carried across continue-as-new: Tailscale's refusal of the name, and the consumers' specs it refused. */
  nameClash?: { specs: string; report: VipServiceReport };
  /** Multiplies the recheck and idle-grace timers (the worker's TIMER_SCALE; benchmarks only). */
  timerScale?: number;
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
const settleDelay = '3s';
// Outcomes that wrote (a non-owner's SpecMismatch may not have: it is left to the recheck).
const wroteOutcomes = new Set(['Created', 'Attached', 'Updated', 'Detached', 'Deleted']);
/** Versions reporting only to the consumers whose current change the finished activity acted on. */
const answeredOnlyPatch = 'vip-report-answered-only';
/** The failure when the service name is a device's (activities/tailscale/errors.ts). */
const nameClashError = 'TailscaleNameClash';
/** Versions waiting, once Tailscale refused the name as a device's, until a consumer's spec changes. */
const nameClashPatch = 'vip-wait-on-name-clash';

/**
 * `vip/<tailnet>/<svc>`: the only writer of one VIP service in this operator. It serializes every local
 * change (consumers joining, updating, leaving), creates or attaches through the shared registry, detaches
 * when the last local consumer leaves, and reports the outcome to each consumer workflow.
 */
export async function vipServiceWorkflow(input: VipServiceWorkflowInput): Promise<void> {
  const consumers = new Map(Object.entries(input.consumers ?? {}));
  const pendingRemovals: VipConsumerChange[] = [...(input.pendingRemovals ?? [])];
  let dirty = consumers.size > 0 || pendingRemovals.length > 0;
  let last: VipServiceReport | undefined = input.nameClash?.report;
  const reported = new Map<string, string>();

  setHandler(vipConsumerSignal, (change) => {
    if (change.remove) {
      consumers.delete(change.consumerWorkflowId);
      pendingRemovals.push(change);
    } else {
      consumers.set(change.consumerWorkflowId, change);
    }
    dirty = true;
  });
  setHandler(vipStateQuery, () => ({
    serviceName: input.serviceName,
    localConsumers: [...consumers.keys()],
    last,
  }));

  const scaled = (d: Duration) => (input.timerScale ? msToNumber(d) * input.timerScale : d);
  let failures = 0;
  let settling = false;
  /** Set while Tailscale refuses the name as a device's: the consumers' specs it refused. */
  let clashedSpecs = input.nameClash?.specs;
  const untilDirty = async () => {
    await condition(() => dirty);
    return true;
  };
  const rollOverIfLong = async () => {
    if (!workflowInfo().continueAsNewSuggested) return;
    await condition(allHandlersFinished);
    await continueAsNew<typeof vipServiceWorkflow>({
      ...input,
      consumers: Object.fromEntries(consumers),
      pendingRemovals,
      nameClash: clashedSpecs !== undefined && last ? { specs: clashedSpecs, report: last } : undefined,
    });
  };
  for (;;) {
    const wait = failures
      ? Math.min(2 ** failures * 5000, maxFailureBackoffMs)
      : settling
        ? settleDelay
        : consumers.size
          ? scaled(recheckInterval)
          : scaled(idleGrace);
    // Refused as a device's name: no timer, only a consumer's change can make trying again worth it.
    const woke = clashedSpecs === undefined ? await condition(() => dirty, wait) : await untilDirty();
    if (!woke && consumers.size === 0 && pendingRemovals.length === 0 && failures === 0 && !settling) return;
    dirty = false;

    const removals = pendingRemovals.splice(0);
    const processed = new Map(consumers);
    let removalReport: VipServiceReport | undefined;
    if (last && clashedSpecs !== undefined && !removals.length && specsOf(consumers) === clashedSpecs) {
      // Nothing the refusal depends on changed: answer with it, without asking Tailscale again.
      await report(last, consumers, consumers, [], reported);
      await rollOverIfLong();
      continue;
    }
    clashedSpecs = undefined;
    try {
      last = consumers.size ? await attach(input, consumers) : await detach(input);
      failures = 0;
      settling = wroteOutcomes.has(last.outcome) && patched('vip-settle-check');
    } catch (err) {
      settling = false;
      last = failureReport(input.serviceName, err, consumers);
      if (last.errorType === nameClashError && patched(nameClashPatch)) {
        // No service can exist under this name: the removals are done; the rest wait for a change.
        clashedSpecs = specsOf(consumers);
        failures = 0;
        removalReport = { ...last, outcome: 'NotFound', error: undefined, errorType: undefined };
      } else {
        failures++;
        pendingRemovals.unshift(...removals);
      }
      log.warn('VIP service change failed; will retry', {
        service: input.serviceName,
        error: last.error,
        failures,
      });
    }
    // A consumer that joined or changed while the activity ran has not been answered: the next
    // iteration (dirty is set) is its answer. Telling it this one's outcome, e.g. the NotAttached
    // of a settle check that started just before it joined, would end its pass with a wrong status.
    const answered = patched(answeredOnlyPatch)
      ? new Map([...consumers].filter(([id, change]) => processed.get(id) === change))
      : consumers;
    if (removalReport) {
      await report(last, answered, consumers, [], reported);
      await report(removalReport, new Map(), consumers, removals, reported);
    } else await report(last, answered, consumers, removals, reported);
    upsertMemo({
      vipService: input.serviceName,
      tailnet: input.tailnet,
      addresses: last.addresses,
      // Installs with an entry in the service's registry (this one included), vs this install's objects.
      operatorsAttached: last.consumers,
      localConsumers: [...consumers.values()].map((c) => c.route),
      outcome: last.outcome,
      lastError: last.error ?? null,
    });

    await rollOverIfLong();
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
  consumers: Map<string, VipConsumerChange>,
): Promise<VipServiceReport> {
  const ordered = [...consumers.values()].sort((a, b) => byCodeUnits(a.route, b.route));
  const spec = appliedSpecOf(consumers)?.spec;
  if (!spec) throw ApplicationFailure.nonRetryable('no consumer carries a VIP service spec', 'BUG');
  const result = await attachVipService({
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
  };
}

async function detach(input: VipServiceWorkflowInput): Promise<VipServiceReport> {
  let result: Awaited<ReturnType<typeof detachVipService>>;
  try {
    result = await detachVipService({ tailnet: input.tailnet, serviceName: input.serviceName });
  } catch (err) {
    // A name Tailscale refuses as a device's holds no service: nothing is left to detach from.
    if (failureType(err) !== nameClashError || !patched(nameClashPatch)) throw err;
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

/** Every local consumer shares one spec: the first consumer's by route (stable across runs). */
function appliedSpecOf(consumers: Map<string, VipConsumerChange>): VipConsumerChange | undefined {
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
): VipServiceReport {
  const applied = appliedSpecOf(consumers);
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
  const others = [...consumers.values()].filter(differs).map((c) => c.route);
  if (!others.length) return base;
  return {
    ...base,
    message: `${base.message}; ${others.sort().join(', ')} also use(s) ${base.serviceName} with a different spec.vipService, not applied`,
  };
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
): Promise<void> {
  const targets: [VipConsumerChange, VipServiceReport][] = [
    ...[...answered.values()].map((c): [VipConsumerChange, VipServiceReport] => [
      c,
      withLocalConflicts(
        { ...base, ackRequestId: c.requestId, consumerRunId: c.consumerRunId },
        c,
        consumers,
      ),
    ]),
    ...removals
      .filter((r) => !consumers.has(r.consumerWorkflowId))
      .map((r): [VipConsumerChange, VipServiceReport] => [
        r,
        {
          ...base,
          attached: false,
          ackRequestId: r.requestId,
          consumerRunId: r.consumerRunId,
          addresses: base.error ? [] : base.addresses,
        },
      ]),
  ];
  for (const [consumer, message] of targets) {
    const key = JSON.stringify(message);
    if (reported.get(consumer.consumerWorkflowId) === key) continue;
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
