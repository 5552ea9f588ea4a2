import {
  condition,
  continueAsNew,
  log,
  patched,
  sleep,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { finalizerName } from '../api/common';
import type { ConditionUpdate } from '../api/conditions';
import type { ResourceRef } from '../api/crd';
import type { TailscaleServicesSpec } from '../api/v1alpha1/tailscale-services';
import type { Activities } from '../activities';
import type { Selection } from '../activities/services';
import { vipStatusSignal, type VipServiceReport } from './messages';
import { runResourceLoop } from './resource-loop';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';

// Every step is a Kubernetes read, an idempotent Kubernetes write or the signal to the VIP workflow: all
// run as local activities, so a pass costs one workflow task before the VIP workflow's reply and one
// after, instead of a round trip through the server per step (the Tailscale calls stay regular
// activities, in the VIP workflow). bench/RESULTS.md has the before and after.
const acts = proxyLocalActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

const servicesResource: ResourceRef = {
  group: 'gateway.tailscale.com',
  version: 'v1alpha1',
  plural: 'tailscaleservices',
  kind: 'TailscaleServices',
  namespaced: true,
};

/** What a pass remembers for the next: where we advertised, which VIP we joined, our request counter. */
export interface ServicesState {
  advertisedOn: string[];
  vip?: { tailnet: string; serviceName: string };
  requestId: number;
  /** The last change the VIP workflow acknowledged without error (requestId left out), and its reply. */
  acknowledged?: { change: string; report: VipServiceReport };
  /** The VIP spec Tailscale refused because the name is a device's: not advertised until it changes. */
  nameClash?: string;
  /** Deletion in progress: leave attempts so far and the reason published (across continue-as-new). */
  cleanup?: { attempts: number; blocked?: string };
}

export type TailscaleServicesWorkflowInput = ResourceWorkflowInput<TailscaleServicesSpec, ServicesState>;

const vipReplyTimeout = '2m';

/**
 * One per TailscaleServices (`services/<ns>/<name>`): selects (or auto-provisions) endpoints, advertises
 * the VIP service on their proxies, joins the VIP workflow that owns the service, publishes status.
 */
export async function tailscaleServicesWorkflow(input: TailscaleServicesWorkflowInput): Promise<void> {
  let report: VipServiceReport | undefined;
  // News from the VIP workflow that no pass asked for (a recheck's repair, a late answer, a peer's
  // change seen on a settle check) gets a pass of its own instead of waiting for the 6 h recheck.
  const passOnNews = patched('services-pass-on-vip-news');
  let published: string | undefined;
  let news = false;
  setHandler(vipStatusSignal, (r) => {
    if (r.consumerRunId && r.consumerRunId !== workflowInfo().firstExecutionRunId) return;
    if (report && r.ackRequestId < report.ackRequestId) return;
    report = r;
    news = passOnNews && published !== undefined && publishedKey(r) !== published;
  });
  const vipReply: VipReply = async (requestId: number) => {
    await condition(() => (report?.ackRequestId ?? -1) >= requestId, vipReplyTimeout);
    return report && report.ackRequestId >= requestId ? report : undefined;
  };
  vipReply.latest = () => report;
  vipReply.published = (r) => {
    published = r && publishedKey(r);
  };

  await runResourceLoop<TailscaleServicesSpec, ServicesState>({
    input,
    recheckInterval: '6h',
    reconcile: (snapshot, state) => {
      news = false;
      return reconcileServices(snapshot, state ?? { advertisedOn: [], requestId: 0 }, vipReply);
    },
    cleanup: (snapshot, state, carryOn) =>
      cleanupServices(snapshot, state ?? { advertisedOn: [], requestId: 0 }, vipReply, carryOn),
    onDeleted: (state) => leaveWhenGone(input, state),
    continueAsNew: (next) => continueAsNew<typeof tailscaleServicesWorkflow>(next),
    wakeWhen: () => news,
  });
}

/** The VIP workflow's error when the service name is a device's (activities/tailscale/errors.ts). */
const nameClashError = 'TailscaleNameClash';
/** Versions withdrawing the name from the proxies while Tailscale refuses it as a device's. */
const nameClashPatch = 'services-withhold-clashing-name';
/** Versions leaving (withdraw, VIP consumer entry) when the object is gone without our finalizer. */
const onDeletedPatch = 'services-leave-when-gone';
/** Versions the deletion's retry loop continuing as new when history grows. */
const cleanupContinuePatch = 'services-cleanup-continue-as-new';

const attachedOutcomes = new Set(['Created', 'Attached', 'Updated', 'UpToDate']);

/** What of a report shows in our status: not which write attached us, nor a settle check's "updated". */
function publishedKey(r: VipServiceReport): string {
  const attached = attachedOutcomes.has(r.outcome);
  return JSON.stringify([
    r.attached,
    r.addresses,
    r.ownerOperator,
    r.consumers,
    attached ? 'Attached' : r.outcome,
    attached ? '' : r.message,
    r.error,
  ]);
}

interface VipReply {
  (requestId: number): Promise<VipServiceReport | undefined>;
  /** The newest report received (the VIP workflow also reports changes nobody asked about). */
  latest?: () => VipServiceReport | undefined;
  /** The report a pass published: later news differing from it wakes another pass. */
  published?: (report: VipServiceReport | undefined) => void;
}

export function vipServiceNameOf(snapshot: ObjectSnapshot<TailscaleServicesSpec>): string {
  return snapshot.spec.vipService.name ?? `svc:${snapshot.metadata.name}`;
}

async function reconcileServices(
  snapshot: ObjectSnapshot<TailscaleServicesSpec>,
  state: ServicesState,
  vipReply: VipReply,
): Promise<ServicesState> {
  const { metadata, spec } = snapshot;
  const namespace = metadata.namespace ?? '';
  const serviceName = vipServiceNameOf(snapshot);
  const publish = (conditions: ConditionUpdate[], fields: Record<string, unknown> = {}) =>
    acts.patchStatus({
      resource: servicesResource,
      namespace,
      name: metadata.name,
      uid: metadata.uid,
      observedGeneration: metadata.generation,
      conditions,
      fields,
    });

  const invalid = validate(snapshot, serviceName);
  if (invalid) {
    await publish([notReady('InvalidSpec', invalid)]);
    return state;
  }
  if (!metadata.finalizers?.includes(finalizerName)) {
    const held = await acts.ensureFinalizer({
      resource: servicesResource,
      namespace,
      name: metadata.name,
      uid: metadata.uid,
    });
    // Deleted (or replaced) before our finalizer could hold it: creating anything in Tailscale now
    // would leave it behind, with no deletion left to clean it up.
    if (held.skipped) return state;
  }

  const tailnet = await acts.getTailnetStatus({ name: spec.tailnet });
  if (!tailnet.ready) {
    const reason = tailnet.exists ? 'TailnetNotReady' : 'TailnetNotFound';
    await publish([
      notReady(
        reason,
        `spec.tailnet: ${tailnet.exists ? `TailscaleTailnet ${spec.tailnet} is not Ready (${tailnet.reason}: ${tailnet.message})` : tailnet.message}`,
      ),
    ]);
    return state;
  }

  const selection = await acts.selectEndpoints({
    namespace,
    owner: { name: metadata.name, uid: metadata.uid },
    tailnet: spec.tailnet,
    selector: spec.selector,
    template: spec.endpointTemplate,
    defaultTags: spec.vipService.tags,
  });
  const selectedNames = selection.selected.map((e) => e.name);
  const vipSpec = {
    ports: spec.vipService.ports,
    tags: spec.vipService.tags,
    comment: spec.vipService.comment,
  };
  // Tailscale refused this very spec's name as a device's: the proxies do not advertise it meanwhile.
  const clashKey = JSON.stringify([spec.tailnet, serviceName, vipSpec]);
  const withheld = state.nameClash === clashKey;
  const advertiseOn = withheld ? [] : selectedNames;
  let advertised = await acts.setAdvertisedServices({
    namespace,
    serviceName,
    advertiseOn,
    withdrawFrom: state.advertisedOn.filter((n) => !advertiseOn.includes(n)),
  });

  // A renamed VIP service (or moved tailnet): leave the old one first.
  const next: ServicesState = {
    advertisedOn: advertiseOn,
    requestId: state.requestId,
    vip: { tailnet: spec.tailnet, serviceName },
  };
  if (state.vip && (state.vip.serviceName !== serviceName || state.vip.tailnet !== spec.tailnet)) {
    next.requestId++;
    await leaveVip(routeOf(snapshot), state.vip, next.requestId);
  }
  const change = {
    tailnet: spec.tailnet,
    serviceName,
    consumerWorkflowId: workflowInfo().workflowId,
    route: routeOf(snapshot),
    spec: vipSpec,
    devices: selection.selected.flatMap((e) => e.nodeIds),
  };
  const changeKey = JSON.stringify(change);
  // A pass that changes nothing for the VIP workflow (a re-check, our own finalizer write, a resync)
  // sends it nothing while it runs: it re-verifies the service on its own timer.
  const known =
    state.acknowledged?.change === changeKey && next.requestId === state.acknowledged.report.ackRequestId;
  const { signalled } = await acts.signalVipService({
    ...change,
    consumerRunId: workflowInfo().firstExecutionRunId,
    requestId: next.requestId + 1,
    unlessRunning: known,
  });
  let vip: VipServiceReport | undefined;
  if (signalled) {
    next.requestId++;
    vip = await vipReply(next.requestId);
  } else {
    const latest = vipReply.latest?.();
    vip = latest && latest.ackRequestId >= next.requestId ? latest : state.acknowledged?.report;
  }
  if (vip && !vip.error) next.acknowledged = { change: changeKey, report: vip };
  vipReply.published?.(vip);
  if (vip?.errorType === nameClashError && patched(nameClashPatch)) {
    next.nameClash = clashKey;
    if (advertiseOn.length) {
      advertised = await acts.setAdvertisedServices({
        namespace,
        serviceName,
        advertiseOn: [],
        withdrawFrom: advertiseOn,
      });
      next.advertisedOn = [];
    }
  } else if (withheld && vip && !vip.error) {
    // The name is usable now (another consumer's change made the VIP workflow try it again).
    advertised = await acts.setAdvertisedServices({
      namespace,
      serviceName,
      advertiseOn: selectedNames,
      withdrawFrom: [],
    });
    next.advertisedOn = selectedNames;
  } else if (withheld) {
    next.nameClash = state.nameClash;
  }
  await acts.cleanupAutoProvisionedEndpoints({ namespace });

  const dnsName = tailnet.dnsSuffix ? `${serviceName.slice('svc:'.length)}.${tailnet.dnsSuffix}` : undefined;
  const conditions = servicesConditions(selection, vip, {
    replicas: advertised.replicas,
    withheld: next.nameClash !== undefined,
    hasTemplate: Boolean(spec.endpointTemplate),
  });
  await publish(conditions, {
    vipService: vip?.attached
      ? {
          name: serviceName,
          addresses: vip.addresses,
          dnsName,
          ownerOperator: vip.ownerOperator,
          consumers: vip.consumers,
        }
      : { name: serviceName },
    selectedEndpoints: selection.selected.map((e) => ({
      name: e.name,
      autoProvisioned: e.autoProvisioned,
      devices: e.devices,
      ready: e.ready,
    })),
    totalBackends: selection.selected.reduce((n, e) => n + e.devices.length, 0),
    healthyBackends: selection.selected.reduce((n, e) => n + e.onlineDevices, 0),
  });
  return next;
}

/** Versions the cleanup: unjoined objects on a missing tailnet, a condition and backoff when blocked. */
const cleanupPatch = 'services-cleanup-unwedged';

async function cleanupServices(
  snapshot: ObjectSnapshot<TailscaleServicesSpec>,
  state: ServicesState,
  vipReply: VipReply,
  carryOn: (progress: ServicesState) => Promise<never>,
): Promise<void> {
  const { metadata } = snapshot;
  const namespace = metadata.namespace ?? '';
  const serviceName = vipServiceNameOf(snapshot);
  // Order of the reference (§2.8): stop advertising, leave (or delete) the VIP service, then the rest.
  await acts.setAdvertisedServices({
    namespace,
    serviceName,
    advertiseOn: [],
    withdrawFrom: state.advertisedOn,
  });
  const vip = state.vip ?? { tailnet: snapshot.spec.tailnet, serviceName };
  // A run continued as new resumes the backoff where the previous one left it.
  const attemptsBefore = state.cleanup?.attempts ?? 0;
  let blocked = state.cleanup?.blocked;
  for (let requestId = state.requestId + 1; ; requestId++) {
    // Never joined a VIP service, and its tailnet does not exist (any more): nothing can be ours there.
    const unjoinedOnMissingTailnet =
      !state.vip && patched(cleanupPatch) && !(await acts.getTailnetStatus({ name: vip.tailnet })).exists;
    if (unjoinedOnMissingTailnet) break;
    await leaveVip(routeOf(snapshot), vip, requestId);
    const reply = await vipReply(requestId);
    if (reply && !reply.error) break;
    // Tailscale unreachable or refusing: keep the finalizer (nothing is orphaned), say why, and try
    // again, backing off (the VIP workflow acts on each signal at once: no pause would be a hot loop).
    if (!patched(cleanupPatch)) continue;
    const why = `deletion waits for leaving VIP service ${vip.serviceName} on tailnet ${vip.tailnet}: ${reply?.error ?? 'no reply from its VIP service workflow'}`;
    if (why !== blocked) {
      blocked = why;
      await acts.patchStatus({
        resource: servicesResource,
        namespace,
        name: metadata.name,
        uid: metadata.uid,
        observedGeneration: metadata.generation,
        conditions: [notReady('DeletionBlocked', why)],
      });
    }
    const attempts = attemptsBefore + requestId - state.requestId;
    await sleep(Math.min(2 ** attempts * 1000, 5 * 60_000));
    // A long outage would grow this history without bound: the next run resumes from here.
    if (workflowInfo().continueAsNewSuggested && patched(cleanupContinuePatch)) {
      await carryOn({
        ...state,
        advertisedOn: [],
        vip: state.vip,
        requestId,
        cleanup: { attempts, blocked },
      });
    }
  }
  await acts.cleanupAutoProvisionedEndpoints({ namespace });
  await acts.removeFinalizer({
    resource: servicesResource,
    namespace,
    name: metadata.name,
    uid: metadata.uid,
  });
}

/**
 * The object is gone without our finalizer holding it (removed by hand): withdraw the name from the
 * proxies, leave the VIP service and delete what was provisioned for it, best effort and without
 * waiting (the VIP workflow retries a removal it could not apply yet).
 */
async function leaveWhenGone(
  input: TailscaleServicesWorkflowInput,
  state: ServicesState | undefined,
): Promise<void> {
  if (!state?.vip || !patched(onDeletedPatch)) return;
  const namespace = input.namespace ?? '';
  try {
    await acts.setAdvertisedServices({
      namespace,
      serviceName: state.vip.serviceName,
      advertiseOn: [],
      withdrawFrom: state.advertisedOn,
    });
    await leaveVip(`services/${namespace}/${input.name}`, state.vip, state.requestId + 1);
    await acts.cleanupAutoProvisionedEndpoints({ namespace });
  } catch (err) {
    log.warn('cleanup after deletion failed', { name: input.name, error: String(err) });
  }
}

async function leaveVip(
  route: string,
  vip: { tailnet: string; serviceName: string },
  requestId: number,
): Promise<void> {
  await acts.signalVipService({
    ...vip,
    consumerWorkflowId: workflowInfo().workflowId,
    consumerRunId: workflowInfo().firstExecutionRunId,
    route,
    requestId,
    remove: true,
  });
}

const routeOf = (snapshot: ObjectSnapshot<unknown>) =>
  `services/${snapshot.metadata.namespace ?? ''}/${snapshot.metadata.name}`;

function validate(snapshot: ObjectSnapshot<TailscaleServicesSpec>, serviceName: string): string | undefined {
  if (!/^svc:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(serviceName)) {
    return `spec.vipService.name is unset and metadata.name ${snapshot.metadata.name} does not make a valid svc:<dns-label>: set spec.vipService.name`;
  }
  const { matchLabels, matchExpressions } = snapshot.spec.selector;
  if (!Object.keys(matchLabels ?? {}).length && !(matchExpressions ?? []).length) {
    return 'spec.selector is empty: it must name the labels of the TailscaleEndpoints to use';
  }
  return undefined;
}

const notReady = (reason: string, message: string): ConditionUpdate => ({
  type: 'Ready',
  status: 'False',
  reason,
  message,
});

function servicesConditions(
  selection: Selection,
  vip: VipServiceReport | undefined,
  pass: { replicas: number; withheld: boolean; hasTemplate: boolean },
): ConditionUpdate[] {
  const selected = selection.selected.length;
  const wrong = selection.wrongTailnet.length
    ? `; ignored (other tailnet): ${selection.wrongTailnet.join(', ')}`
    : '';
  const endpoints: ConditionUpdate = selected
    ? {
        type: 'EndpointsSelected',
        status: 'True',
        reason: 'EndpointsSelected',
        message: `${selected} TailscaleEndpoints selected${wrong}`,
      }
    : selection.provisionBlocked
      ? {
          type: 'EndpointsSelected',
          status: 'False',
          reason: 'EndpointsNameTaken',
          message: selection.provisionBlocked,
        }
      : {
          type: 'EndpointsSelected',
          status: 'False',
          reason: 'NoEndpointsSelected',
          message: `spec.selector matches no TailscaleEndpoints on this tailnet${wrong}: label some${pass.hasTemplate ? '' : ', or add spec.endpointTemplate'}`,
        };
  const vipReady: ConditionUpdate = !vip
    ? {
        type: 'VIPServiceReady',
        status: 'Unknown',
        reason: 'Pending',
        message: 'waiting for the VIP service workflow',
      }
    : vip.error
      ? {
          type: 'VIPServiceReady',
          status: 'False',
          reason: 'TailscaleError',
          message: pass.withheld
            ? `${vip.error} Not advertised, and not tried again until spec.vipService changes.`
            : vip.error,
        }
      : !vip.attached
        ? { type: 'VIPServiceReady', status: 'False', reason: vip.outcome, message: vip.message }
        : vip.outcome === 'SpecMismatch'
          ? { type: 'VIPServiceReady', status: 'True', reason: 'SpecMismatch', message: vip.message }
          : {
              type: 'VIPServiceReady',
              status: 'True',
              reason: vip.outcome === 'Created' ? 'Created' : 'Attached',
              message: `${vip.message}; ${vip.consumers} consumer(s)`,
            };
  const proxies: ConditionUpdate = pass.withheld
    ? {
        type: 'ProxyConfigReady',
        status: 'False',
        reason: 'Withheld',
        message: 'not advertised: Tailscale refuses the service name (see VIPServiceReady)',
      }
    : pass.replicas
      ? {
          type: 'ProxyConfigReady',
          status: 'True',
          reason: 'Advertised',
          message: `advertised by ${pass.replicas} proxy replica(s)`,
        }
      : {
          type: 'ProxyConfigReady',
          status: 'False',
          reason: 'NoProxies',
          message: 'no proxy replica config to advertise the service on yet',
        };
  const ready: ConditionUpdate =
    endpoints.status === 'True' && vipReady.status === 'True' && proxies.status === 'True'
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'Ready',
          message: 'VIP service exists and is advertised by the selected endpoints',
        }
      : notReady(
          endpoints.status !== 'True'
            ? endpoints.reason
            : vipReady.status !== 'True'
              ? vipReady.reason
              : proxies.reason,
          endpoints.status !== 'True'
            ? endpoints.message
            : vipReady.status !== 'True'
              ? vipReady.message
              : proxies.message,
        );
  return [endpoints, vipReady, proxies, ready];
}
