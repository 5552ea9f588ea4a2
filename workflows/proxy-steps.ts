import {
  ActivityFailure,
  ApplicationFailure,
  log,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import { hasShippedPatch } from './patches';
import type { ConditionUpdate } from '../api/conditions';
import type { ResourceRef } from '../api/crd';
import {
  proxyDeploymentOf,
  proxySpecProblem,
  type DeviceStatus,
  type ProxyDeployment,
  type ProxyParentKind,
  type ProxyParentSpec,
  type StatefulSetStatus,
} from '../api/v1alpha1/proxy';
import { finalizerName } from '../api/common';
import type { Activities } from '../activities';
import type { ProxyConfigsOutcome } from '../activities/proxies/configs';
import type { ProxyObservation } from '../activities/proxies/devices';
import type { EgressStatus } from '../api/v1alpha1/tailscale-endpoints';
import { remoteActivityOptions, retryPolicies } from './retry-policies';
import type { ResourceLoopOptions } from './resource-loop';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';
import { ProxyReason, TailnetReason } from '../api/reasons';
import { observationSettled, onlyStateSecretsMoved } from './proxy-observe-pass';

const retry = retryPolicies.step;
// Reads and idempotent Kubernetes writes run as local activities: a pass that changes nothing then
// costs one or two workflow tasks instead of a round trip through the server per step.
const {
  checkProxyTailnet,
  applyProxyObjects,
  observeProxyDevices,
  patchStatus,
  addProxyFinalizer,
  signalVipHostsChanged,
} = proxyLocalActivities<Activities>({ startToCloseTimeout: '1m', retry });
// Steps that mint keys or delete devices stay regular activities: durable, retried by the server,
// and visible as their own events in the Temporal UI.
const {
  removeProxyFinalizer,
  removeProxyReplicas,
  deleteStaleProxyDevices,
  deleteProxy,
  readProxyGroupStatus,
  applyProxyGroupEgress,
} = proxyActivities<Activities>(remoteActivityOptions('1m', retry));
const { ensureProxyConfigs } = proxyActivities<Activities>(remoteActivityOptions('2m', retry));

// Kept literal (not imported from activities/) so workflow code stays free of I/O modules.
const resources: Record<ProxyParentKind, ResourceRef> = {
  TailscaleEndpoints: {
    group: 'gateway.tailscale.com',
    version: 'v1alpha1',
    plural: 'tailscaleendpoints',
    kind: 'TailscaleEndpoints',
    namespaced: true,
  },
  TailscaleProxyGroup: {
    group: 'gateway.tailscale.com',
    version: 'v1alpha1',
    plural: 'tailscaleproxygroups',
    kind: 'TailscaleProxyGroup',
    namespaced: true,
  },
};

/** Timer intervals: short while converging, doubling while nothing changes, up to the stable maximum. */
export const refresh = {
  shortMs: 5_000,
  convergingMaxMs: 60_000,
  stableMaxMs: 30 * 60_000,
  /** At most one auth key reissue pass per object this often (docs/tailscale-api-facts.md §2.9). */
  reissueGapMs: 30_000,
};

export interface ProxyWorkflowState {
  /** Completed reconcile passes, across continue-as-new. */
  reconciles: number;
  /** nodeId per ordinal as last observed: a replica that registers again gets its old device deleted. */
  devices: Record<string, string>;
  /** Workflow time (ms) of the last auth key reissue. */
  lastReissueAt?: number;
  intervalMs: number;
  /** The TailscaleProxyGroup whose proxies ConfigMap holds this endpoints' egress entry. */
  egressPool?: string;
  /** The last published devices and StatefulSet, kept when the devices API fails. */
  published?: { devices: DeviceStatus[]; statefulSets: StatefulSetStatus[]; readyReason: string };
  /**
   * Set by a whole pass that published its observation: the device per ordinal its ensureProxyConfigs
   * saw. A pass for moved state Secrets only observes while every replica still runs that device.
   */
  configured?: Record<string, string>;
  /**
   * Workflow time (ms) the last whole pass set for the next: passes that only observe keep to it, so the
   * state Secrets of a busy pool cannot put off drift repair.
   */
  wholePassDueAt?: number;
  /** The VIP services the replicas advertised at the last observation (see tellVipOfNewHosts). */
  advertising?: string[];
}

export const initialProxyState = (): ProxyWorkflowState => ({
  reconciles: 0,
  devices: {},
  intervalMs: refresh.shortMs,
});

export interface ReconcileOutcome {
  state: ProxyWorkflowState;
  waitMs: number;
}

type Snapshot = ObjectSnapshot<unknown>;

export function deploymentOf(kind: ProxyParentKind, snapshot: Snapshot): ProxyDeployment {
  return proxyDeploymentOf(kind, snapshot.metadata, snapshot.spec as ProxyParentSpec);
}

/**
 * One pass: validate, hold a finalizer before creating anything outside the object, check the tailnet,
 * apply the Kubernetes objects, give replicas without a device an auth key, remove replicas scaled
 * away and devices replaced, then observe the devices and publish status.
 */
export async function reconcileProxies(
  kind: ProxyParentKind,
  snapshot: Snapshot,
  state: ProxyWorkflowState,
  addedOurFinalizer: () => void,
): Promise<ReconcileOutcome> {
  const d = deploymentOf(kind, snapshot);
  const publish = publisher(d, snapshot);
  const problem = proxySpecProblem(d);
  if (problem) {
    await publish({ reason: ProxyReason.InvalidSpec, message: problem.message });
    return { state: { ...state, configured: undefined }, waitMs: refresh.stableMaxMs };
  }
  const proxyGroup = (snapshot.spec as { proxyGroup?: string }).proxyGroup;
  if (kind === 'TailscaleEndpoints' && proxyGroup) {
    return reconcileProxyGroupBacked(d, snapshot, state, proxyGroup);
  }

  try {
    if (!snapshot.metadata.finalizers?.includes(finalizerName)) {
      // Deleted (or replaced) before our finalizer could hold it: proxies, keys and devices made now
      // would be left behind, with no deletion left to clean them up.
      if ((await addProxyFinalizer(targetOf(d))).skipped)
        return { state: { ...state, configured: undefined }, waitMs: refresh.stableMaxMs };
      addedOurFinalizer();
    }
    await checkProxyTailnet(d.tailnet);
    const applied = await applyProxyObjects(d);
    const now = Date.now();
    const allowReissue =
      state.lastReissueAt === undefined || now - state.lastReissueAt >= refresh.reissueGapMs;
    const configs = await ensureProxyConfigs({ deployment: d, allowReissue });
    const reissued = configs.replicas.some((r) => r.reissued);
    const known = await removeScaledDownReplicas(d, state.devices, applied.extraOrdinals);
    const observed = await observeProxyDevices({ deployment: d, previous: state.published?.devices });
    // What ensureProxyConfigs read is in history even when this task's local activities are lost.
    const configured = deviceIdsOf(configs);
    const fromConfigs = hasShippedPatch(devicesFromConfigsPatch) ? configured : {};
    await deleteReplacedDevices(d, [known, fromConfigs], observed.deviceIds);
    const next: ProxyWorkflowState = {
      ...state,
      devices: { ...known, ...fromConfigs, ...observed.deviceIds },
      configured,
      ...(reissued ? { lastReissueAt: now } : {}),
    };
    const waiting = configs.replicas.map((r) => ({
      pod: r.pod ?? `${d.name}-${r.ordinal}`,
      reissueDeferred: r.reissueDeferred,
    }));
    return await publishObservation(d, snapshot, next, waiting, observed, { status: applied.egress });
  } catch (err) {
    const condition = userErrorCondition(d, err);
    if (!condition) {
      await publish({ reason: ProxyReason.ReconcileError, message: errorMessage(err) }).catch(
        () => undefined,
      );
      throw err;
    }
    await publish(condition);
    const intervalMs = nextInterval(state.intervalMs, false, false);
    return { state: { ...state, intervalMs, configured: undefined }, waitMs: intervalMs };
  }
}

/** Versions the pass that only observes when nothing but the proxies' state Secrets moved. */
const observeOnlyPatch = 'proxy-observe-only-on-state-secrets';

/**
 * The pass for a snapshot in which only the proxies' state Secrets moved: tailscaled rewrote its
 * profile, most often because the services it advertises changed, which needs nothing but a fresh
 * observation. Undefined (take the whole pass) when the last pass was not a whole one that published,
 * or when the observation shows its work: a device registered, replaced or lost, or a key requested.
 */
async function observeOnly(
  kind: ProxyParentKind,
  previous: Snapshot,
  snapshot: Snapshot,
  state: ProxyWorkflowState,
): Promise<ReconcileOutcome | undefined> {
  const { configured } = state;
  if (!configured || !onlyStateSecretsMoved(previous, snapshot) || !hasShippedPatch(observeOnlyPatch))
    return undefined;
  const d = deploymentOf(kind, snapshot);
  const observed = await observeProxyDevices({ deployment: d, previous: state.published?.devices });
  if (!observationSettled(d.replicas, { devices: state.devices, configured }, observed)) return undefined;
  const waiting = observed.devices.map((dev) => ({ pod: dev.statefulSetPod, reissueDeferred: false }));
  return publishObservation(d, snapshot, state, waiting, observed);
}

/** Deletes the devices and Secrets of ordinals scaled away; returns the devices still known. */
async function removeScaledDownReplicas(
  d: ProxyDeployment,
  known: Record<string, string>,
  extraOrdinals: number[],
): Promise<Record<string, string>> {
  const devices = { ...known };
  const removed = new Set([
    ...extraOrdinals,
    ...Object.keys(devices)
      .map(Number)
      .filter((i) => i >= d.replicas),
  ]);
  if (!removed.size) return devices;
  await removeProxyReplicas({
    deployment: d,
    ordinals: [...removed].sort((a, b) => a - b),
    knownDevices: devices,
  });
  for (const ordinal of removed) delete devices[String(ordinal)];
  return devices;
}

/**
 * Versions taking the devices that ensureProxyConfigs read from the state Secrets into the known
 * devices. A pass's local activities are lost with its workflow task (one that ends in continue-as-new is
 * refused when a signal comes in meanwhile): a replica whose state was lost right after such a pass
 * re-registered, and its old device, seen only by the lost observation, stayed in the tailnet.
 */
const devicesFromConfigsPatch = 'proxy-known-devices-from-configs';

function deviceIdsOf(configs: ProxyConfigsOutcome): Record<string, string> {
  return Object.fromEntries(
    configs.replicas.flatMap((r) => (r.deviceId ? [[String(r.ordinal), r.deviceId]] : [])),
  );
}

/** A replica that registered again (its state was lost) leaves its previous devices behind: delete them. */
async function deleteReplacedDevices(
  d: ProxyDeployment,
  knownBefore: Record<string, string>[],
  observed: Record<string, string>,
): Promise<void> {
  const replaced = [
    ...new Set(
      Object.entries(observed).flatMap(([ordinal, id]) =>
        knownBefore.flatMap((known) => (known[ordinal] && known[ordinal] !== id ? [known[ordinal]] : [])),
      ),
    ),
  ];
  if (!replaced.length) return;
  log.info('deleting devices replaced by a new registration', { parent: d.name, devices: replaced });
  await deleteStaleProxyDevices({ tailnet: d.tailnet, nodeIds: replaced });
}

/** A replica as the Provisioning message describes it. */
interface ReplicaProgress {
  pod: string;
  /** Its proxy asked for a fresh auth key while the reissue rate limit held. */
  reissueDeferred: boolean;
}

/** Publishes the observation; `egress` absent leaves status.egress as it is. */
async function publishObservation(
  d: ProxyDeployment,
  snapshot: Snapshot,
  state: ProxyWorkflowState,
  replicas: ReplicaProgress[],
  observed: ProxyObservation,
  egress?: { status: EgressStatus | undefined },
): Promise<ReconcileOutcome> {
  const advertising = await tellVipOfNewHosts(d.tailnet, state.advertising, observed);
  const ready = observed.readyDevices === d.replicas && observed.devices.length === d.replicas;
  const readyCondition: ConditionUpdate = ready
    ? {
        type: 'Ready',
        status: 'True',
        reason: ProxyReason.Ready,
        message: `${d.replicas}/${d.replicas} devices connected`,
      }
    : observed.versionTooOld
      ? {
          type: 'Ready',
          status: 'False',
          reason: ProxyReason.ProxyVersionTooOld,
          message: observed.versionTooOld.message,
        }
      : {
          type: 'Ready',
          status: 'False',
          reason: ProxyReason.Provisioning,
          message: provisioningMessage(d, replicas, observed),
        };
  const devicesCondition: ConditionUpdate = observed.apiError
    ? {
        type: 'DevicesObserved',
        status: 'False',
        reason: ProxyReason.TailscaleApiError,
        message: `The Tailscale devices API failed; connected, lastSeen and tags are from the last successful read: ${observed.apiError}`,
      }
    : {
        type: 'DevicesObserved',
        status: 'True',
        reason: ProxyReason.DevicesObserved,
        message: 'Devices read from the Tailscale API',
      };
  const statefulSets = observed.statefulSet ? [observed.statefulSet] : [];
  const published = { devices: observed.devices, statefulSets, readyReason: readyCondition.message };
  const changed = JSON.stringify(published) !== JSON.stringify(state.published);
  await patchStatus({
    resource: resources[d.kind],
    namespace: d.namespace,
    name: d.name,
    uid: d.uid,
    observedGeneration: snapshot.metadata.generation,
    conditions: [readyCondition, devicesCondition],
    fields: {
      devices: observed.devices,
      statefulSets,
      // Only TailscaleEndpoints has status.egress; null clears it once spec.egress is gone.
      ...(d.kind === 'TailscaleEndpoints' && egress ? { egress: egress.status ?? null } : {}),
    },
  });
  const intervalMs = nextInterval(state.intervalMs, changed, ready && !observed.apiError);
  const deferred = replicas.some((r) => r.reissueDeferred);
  const untilReissue = (state.lastReissueAt ?? 0) + refresh.reissueGapMs - Date.now();
  const waitMs = deferred ? Math.max(1_000, Math.min(intervalMs, untilReissue)) : intervalMs;
  return { state: { ...state, intervalMs, published, ...(advertising && { advertising }) }, waitMs };
}

/** Versions telling the VIP workflows of services a replica began advertising. */
const hostsNewsPatch = 'proxy-tells-vip-of-new-hosts';

/**
 * Tells the VIP workflows of the services that a replica advertises now and none did at the last
 * observation. Tailscale sends no event when a host appears, so without this a new service waited for
 * its VIP workflow's next look at the hosts (its settle read, 3 s after the creation) to turn Ready.
 * The first observation (none recorded) only records. Returns what to record (undefined: unpatched).
 */
async function tellVipOfNewHosts(
  tailnet: string,
  before: string[] | undefined,
  observed: ProxyObservation,
): Promise<string[] | undefined> {
  if (!hasShippedPatch(hostsNewsPatch)) return undefined;
  const now = observed.advertising ?? [];
  const known = new Set(before);
  const started = before ? now.filter((svc) => !known.has(svc)) : [];
  if (started.length) await signalVipHostsChanged({ tailnet, serviceNames: started });
  return now;
}

/** The wait before the next device refresh: short after a change, doubling while nothing changes. */
export function nextInterval(previousMs: number, changed: boolean, stable: boolean): number {
  if (changed) return refresh.shortMs;
  return Math.min(previousMs * 2, stable ? refresh.stableMaxMs : refresh.convergingMaxMs);
}

function provisioningMessage(
  d: ProxyDeployment,
  replicas: ReplicaProgress[],
  observed: ProxyObservation,
): string {
  const waiting: string[] = [];
  for (const r of replicas) {
    const { pod } = r;
    const device = observed.devices.find((dev) => dev.statefulSetPod === pod);
    if (r.reissueDeferred)
      waiting.push(`${pod} asked for a new auth key (reissue rate limited to one per 30 s)`);
    else if (!device) waiting.push(`${pod} has not registered its device yet`);
    else if (!device.online) waiting.push(`${pod} is not running with its device`);
    else if (!device.connected) waiting.push(`the device of ${pod} (${device.nodeID}) is not connected`);
  }
  return `${observed.readyDevices}/${d.replicas} devices connected; ${waiting.join('; ') || 'waiting for the StatefulSet'}`;
}

/** A TailscaleEndpoints that uses a shared TailscaleProxyGroup publishes the pool's devices as its own. */
async function reconcileProxyGroupBacked(
  d: ProxyDeployment,
  snapshot: Snapshot,
  state: ProxyWorkflowState,
  proxyGroup: string,
): Promise<ReconcileOutcome> {
  // Switched from proxies of its own: those go first.
  if (snapshot.metadata.finalizers?.includes(finalizerName)) {
    await deleteProxy({ deployment: d, knownDevices: state.devices });
    await removeProxyFinalizer(targetOf(d));
    state = { ...state, devices: {} };
  }
  const pg = await readProxyGroupStatus({ namespace: d.namespace, name: proxyGroup });
  const where = `TailscaleProxyGroup ${d.namespace}/${proxyGroup} (spec.proxyGroup)`;
  let update: Pick<ConditionUpdate, 'reason' | 'message'> | undefined;
  if (!pg.found) {
    update = { reason: ProxyReason.ProxyGroupNotFound, message: `${where} does not exist` };
  } else if (pg.tailnet !== d.tailnet) {
    update = {
      reason: ProxyReason.InvalidSpec,
      message: `spec.tailnet ${d.tailnet} differs from the tailnet ${pg.tailnet} of ${where}`,
    };
  } else if (d.connectionType !== pg.type) {
    update = {
      reason: ProxyReason.InvalidSpec,
      message: `spec.connectionType ${d.connectionType} needs a proxy group of that type, but ${where} is of type ${pg.type}`,
    };
  }
  let egress: EgressStatus | undefined;
  // Once written, the entry is kept in line (and removed with spec.egress) on every pass.
  if (!update && (d.egress || state.egressPool) && hasShippedPatch('proxy-group-egress')) {
    try {
      if (state.egressPool && state.egressPool !== proxyGroup) {
        await applyProxyGroupEgress({ endpoints: { ...d, egress: undefined }, proxyGroup: state.egressPool });
      }
      egress = (await applyProxyGroupEgress({ endpoints: d, proxyGroup })).status;
      state = { ...state, egressPool: d.egress ? proxyGroup : undefined };
    } catch (err) {
      update = userErrorCondition(d, err);
      if (!update) throw err;
    }
  }
  const ready = !update && pg.ready;
  const condition =
    update ??
    (pg.ready
      ? { reason: ProxyReason.Ready, message: `${where} is Ready` }
      : { reason: ProxyReason.ProxyGroupNotReady, message: `${where} is not Ready yet` });
  const published = { devices: pg.devices, statefulSets: pg.statefulSets, readyReason: condition.message };
  await patchStatus({
    resource: resources[d.kind],
    namespace: d.namespace,
    name: d.name,
    uid: d.uid,
    observedGeneration: snapshot.metadata.generation,
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', ...condition }],
    fields: { devices: pg.devices, statefulSets: pg.statefulSets, egress: egress ?? null },
  });
  const changed = JSON.stringify(published) !== JSON.stringify(state.published);
  // Nothing signals us when the pool changes, so its status is polled at the converging pace.
  const intervalMs = nextInterval(state.intervalMs, changed, false);
  return { state: { ...state, intervalMs, published }, waitMs: intervalMs };
}

/**
 * Deletion: every device, every owned object (nothing garbage-collects them on a bare API server),
 * then the finalizer. Without our finalizer nothing outside the object was ever created.
 */
export async function cleanupProxies(
  kind: ProxyParentKind,
  snapshot: Snapshot,
  state: ProxyWorkflowState,
  opts: { objectGone: boolean },
): Promise<void> {
  if (!snapshot.metadata.finalizers?.includes(finalizerName)) return;
  const d = deploymentOf(kind, snapshot);
  const result = await deleteProxy({ deployment: d, knownDevices: state.devices });
  if (result.orphanedDevices.length) {
    log.warn('devices left in the tailnet: its TailscaleTailnet is gone', {
      devices: result.orphanedDevices,
    });
  }
  if (!opts.objectGone) await removeProxyFinalizer(targetOf(d));
}

function targetOf(d: ProxyDeployment) {
  return { resource: resources[d.kind], namespace: d.namespace, name: d.name, uid: d.uid };
}

function publisher(d: ProxyDeployment, snapshot: Snapshot) {
  return (update: Omit<ConditionUpdate, 'type' | 'status'>) =>
    patchStatus({
      resource: resources[d.kind],
      namespace: d.namespace,
      name: d.name,
      uid: d.uid,
      observedGeneration: snapshot.metadata.generation,
      conditions: [{ type: 'Ready', status: 'False', ...update }],
    });
}

const tailnetFailures = new Set<string>([
  TailnetReason.TailnetNotFound,
  TailnetReason.InvalidSecret,
  'TailscaleUnauthorized',
  'TailscaleForbidden',
]);

const proxyClassRefusals = new Set<string>([
  ProxyReason.ProxyClassNotFound,
  ProxyReason.ProxyClassNotPermitted,
  ProxyReason.TagsNotPermitted,
]);

/** Failures a user has to fix become a condition; anything else is retried. */
function userErrorCondition(
  d: ProxyDeployment,
  err: unknown,
): Omit<ConditionUpdate, 'type' | 'status'> | undefined {
  // A failed activity arrives as ActivityFailure(cause); a failed local activity as the cause itself.
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || !cause.type) return undefined;
  if (tailnetFailures.has(cause.type)) {
    return { reason: ProxyReason.TailnetNotReady, message: `spec.tailnet ${d.tailnet}: ${cause.message}` };
  }
  if (cause.type === 'TailnetNotReady')
    return { reason: ProxyReason.TailnetNotReady, message: cause.message };
  if (cause.type === 'AuthKeyRejected')
    return { reason: ProxyReason.AuthKeyRejected, message: cause.message };
  if (cause.type === 'NameConflict') return { reason: ProxyReason.NameConflict, message: cause.message };
  if (cause.type === 'InvalidEgress') return { reason: ProxyReason.InvalidSpec, message: cause.message };
  if (proxyClassRefusals.has(cause.type)) return { reason: cause.type, message: cause.message };
  return undefined;
}

function errorMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

export type ProxyWorkflowInput<Spec> = ResourceWorkflowInput<Spec, ProxyWorkflowState>;

/**
 * How the resource loop runs a TailscaleEndpoints or TailscaleProxyGroup: each pass chooses the next
 * refresh (short while converging, long once stable), a run resumed by continue-as-new passes at once,
 * and an object removed without our finalizer still gets what we created deleted.
 */
export function proxyLoopOptions<Spec>(
  kind: ProxyParentKind,
  input: ProxyWorkflowInput<Spec>,
  continueAsNew: (next: ProxyWorkflowInput<Spec>) => Promise<never>,
): ResourceLoopOptions<Spec, ProxyWorkflowState> {
  const stateOf = (s: ProxyWorkflowState | undefined) => s ?? initialProxyState();
  return {
    input,
    recheckInterval: refresh.stableMaxMs,
    resumeWait: 0,
    reconcilesBefore: input.state?.reconciles ?? 0,
    alwaysRetriedNewest: true,
    reconcile: async (snapshot, state, context) => {
      const previous = stateOf(state);
      const observing = context.previous && (await observeOnly(kind, context.previous, snapshot, previous));
      const outcome = observing
        ? { ...observing, waitMs: Math.min(observing.waitMs, (previous.wholePassDueAt ?? 0) - Date.now()) }
        : await reconcileProxies(kind, snapshot, previous, context.addedOurFinalizer);
      const wholePassDueAt = observing ? previous.wholePassDueAt : Date.now() + outcome.waitMs;
      return {
        state: { ...outcome.state, reconciles: previous.reconciles + 1, wholePassDueAt },
        wait: Math.max(0, outcome.waitMs),
      };
    },
    cleanup: (snapshot, state) => cleanupProxies(kind, snapshot, stateOf(state), { objectGone: false }),
    onDeleted: async (state, last) => {
      if (!last) return;
      await cleanupProxies(kind, last, stateOf(state), { objectGone: true }).catch((err: unknown) => {
        log.warn('cleanup after deletion failed', {
          kind,
          error: err instanceof Error ? err.message : String(err),
        });
      });
    },
    continueAsNew,
  };
}
