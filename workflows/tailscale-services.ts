import { continueAsNew, log, sleep, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import { hasShippedPatch } from './patches';
import { finalizerName } from '../api/common';
import type { ConditionUpdate } from '../api/conditions';
import { ServicesReason } from '../api/reasons';
import type { ResourceRef } from '../api/crd';
import type { TailscaleServicesSpec } from '../api/v1alpha1/tailscale-services';
import type { Activities } from '../activities';
import type { BackendResolution, Selection, TailnetStatusView } from '../activities/services';
import type { ServiceConfig } from '../activities/specs/serve-config';
import type { VipServiceReport } from './messages';
import { runResourceLoop, type ReconcileContext } from './resource-loop';
import { statusPublisher } from './status-publisher';
import { claimRefusedOutcome } from './vip-claims';
import { hostStatus } from './vip-hosts';
import { notReady, servicesConditions, type ServicesPass } from './tailscale-services-status';
import { VipConsumer } from './vip-consumer';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';
import { backoffMs } from './backoff';
import { retryPolicies } from './retry-policies';
import { vipConsumerLines } from './ui-summary';
import { defaultVipServiceName, vipServiceLabel } from '../api/vip-service-name';
import { selectorIsEmpty } from '../api/label-selector';

// Every step is a Kubernetes read, an idempotent Kubernetes write or the signal to the VIP workflow: all
// run as local activities, so a pass costs one workflow task before the VIP workflow's reply and one
// after, instead of a round trip through the server per step (the Tailscale calls stay regular
// activities, in the VIP workflow). bench/RESULTS.md has the before and after.
const acts = proxyLocalActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: retryPolicies.step,
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
  /** The last change sent whose reply missed the pass's wait: that reply, when it comes, acknowledges it. */
  unanswered?: { change: string; requestId: number };
  /** The VIP spec Tailscale refused because the name is a device's: not advertised until it changes. */
  nameClash?: string;
  /** `[tailnet, svc]` the VIP workflow admitted our claim on: advertised only once admitted. */
  admitted?: string;
  /** A serve config entry from spec.backend was written (removed once the backend goes). */
  served?: boolean;
  /** What the last published status showed of the VIP report (VipConsumer option `shown`). */
  vipShown?: Record<string, string>;
  /** What the last whole pass published its status from, but the VIP report: news of hosts only needs it. */
  lastStatus?: {
    dnsSuffix?: string;
    selection: Selection;
    pass: ServicesPass;
    /** publishedKey of the report, without hosts ('' for none). */
    reportKey: string;
  };
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
  // News from the VIP workflow that no pass asked for (a recheck's repair, a late answer, a peer's
  // change seen on a settle check) gets a pass of its own instead of waiting for the 6 h recheck.
  const passOnNews = hasShippedPatch('services-pass-on-vip-news');
  // Hosts appearing or being approved is news too (it decides Ready).
  const hostsNews = hasShippedPatch(hostsNewsPatch);
  const vip = new VipConsumer({
    signal: acts.signalVipService,
    single: true,
    shown: input.state?.vipShown,
    ...(passOnNews ? { news: { key: (r) => publishedKey(r, hostsNews), rule: 'newest' } } : {}),
  });

  await runResourceLoop<TailscaleServicesSpec, ServicesState>({
    input,
    recheckInterval: '6h',
    reconcile: async (snapshot, state, { addedOurFinalizer }) => {
      vip.passStarted();
      const pass = { ...passContext(snapshot), addedOurFinalizer };
      const next = await reconcileServices(pass, state ?? { advertisedOn: [], requestId: 0 }, vip);
      return { state: { ...next, vipShown: vip.shownKeys() } };
    },
    cleanup: (snapshot, state, carryOn) =>
      cleanupServices(snapshot, state ?? { advertisedOn: [], requestId: 0 }, vip, carryOn),
    onDeleted: (state) => leaveWhenGone(input, state, vip),
    continueAsNew: (next) => continueAsNew<typeof tailscaleServicesWorkflow>(next),
    wakeWhen: () => vip.news,
    onNews: async (snapshot, state) => {
      const published = state && (await publishHostsNews(snapshot, state, vip));
      return published && { state: { ...published, vipShown: vip.shownKeys() } };
    },
    details: () => vipConsumerLines(vip.latest()),
  });
}

/** The VIP workflow's error when the service name is a device's (activities/tailscale/errors.ts). */
const nameClashError = 'TailscaleNameClash';
/** Versions withdrawing the name from the proxies while Tailscale refuses it as a device's. */
const nameClashPatch = 'services-withhold-clashing-name';
/** Versions leaving (withdraw, VIP consumer entry) when the object is gone without our finalizer. */
const onDeletedPatch = 'services-leave-when-gone';
/** Versions advertising the name only once the VIP workflow admitted our claim on it. */
const advertiseAfterClaimPatch = 'services-advertise-after-claim';
/** Versions the deletion's retry loop continuing as new when history grows. */
const cleanupContinuePatch = 'services-cleanup-continue-as-new';

/** Versions the serve config entry from spec.backend, written where (and before) the service is advertised. */
const backendPatch = 'services-backend-serve-config';

const attachedOutcomes = new Set(['Created', 'Attached', 'Updated', 'UpToDate']);

/** Versions a pass on news of the service's hosts (the VIP workflow reports them since its own patch). */
const hostsNewsPatch = 'services-ready-needs-approved-host';
/**
 * Versions a reply that came after its pass stopped waiting acknowledging the change it answers. Before,
 * the pass it woke sent the same change again: on a saturated machine (1,000 services cold) that was
 * 3.1 joins per service, each one more task for the VIP workflow and one more reply to wait for.
 */
const lateAcknowledgementPatch = 'services-late-reply-acknowledges';
/**
 * Versions news of hosts alone publishing status without a whole pass. Before, every new service ran its
 * whole pass twice (six local activities and their Kubernetes requests), the second only to publish
 * Ready once its proxies advertised it.
 */
const hostsNewsStatusPatch = 'services-hosts-news-status-only';

/**
 * Versions the tailnet and (without a template) endpoints reads running beside the finalizer write
 * instead of after it: one local activity less on the way of every pass, two on a creation's.
 */
const readsAlongsidePatch = 'services-reads-alongside';

/** `p`, marked handled: a pass that stops before awaiting it must not fail on its rejection. */
function settledLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** What of a report shows in our status: not which write attached us, nor a settle check's "updated". */
function publishedKey(r: VipServiceReport, withHosts: boolean): string {
  const attached = attachedOutcomes.has(r.outcome);
  return JSON.stringify([
    r.attached,
    r.addresses,
    r.ownerOperator,
    r.consumers,
    attached ? 'Attached' : r.outcome,
    attached ? '' : r.message,
    r.error,
    ...(withHosts && r.hosts ? [r.hosts] : []),
  ]);
}

export function vipServiceNameOf(snapshot: ObjectSnapshot<TailscaleServicesSpec>): string {
  return snapshot.spec.vipService.name ?? defaultVipServiceName(snapshot.metadata.name);
}

/** What every step of one pass works on: the object, its namespace and VIP service name, its status. */
interface PassContext {
  snapshot: ObjectSnapshot<TailscaleServicesSpec>;
  namespace: string;
  serviceName: string;
  publish: (conditions: ConditionUpdate[], fields?: Record<string, unknown>) => Promise<unknown>;
}

function passContext(snapshot: ObjectSnapshot<TailscaleServicesSpec>): PassContext {
  return {
    snapshot,
    namespace: snapshot.metadata.namespace ?? '',
    serviceName: vipServiceNameOf(snapshot),
    publish: statusPublisher(acts.patchStatus, servicesResource, snapshot),
  };
}

async function reconcileServices(
  pass: PassContext & Pick<ReconcileContext<TailscaleServicesSpec>, 'addedOurFinalizer'>,
  state: ServicesState,
  vip: VipConsumer,
): Promise<ServicesState> {
  const { snapshot } = pass;
  const { spec } = snapshot;
  const invalid = validate(snapshot, pass.serviceName);
  if (invalid) {
    await pass.publish([notReady(ServicesReason.InvalidSpec, invalid)]);
    return withoutStatus(state);
  }
  const reads = passReads(pass);
  // Deleted (or replaced) before our finalizer could hold it: creating anything in Tailscale now
  // would leave it behind, with no deletion left to clean it up.
  if (!(await holdFinalizer(pass, pass.addedOurFinalizer))) return withoutStatus(state);

  const tailnet = await reads.tailnet();
  if (!tailnet.ready) {
    await pass.publish([tailnetNotReady(spec.tailnet, tailnet)]);
    return withoutStatus(state);
  }
  const selection = await reads.selection();
  const backend = await resolveBackend(pass, state, tailnet.dnsSuffix);
  const plan = advertisePlan(pass, state, selection, backend);
  const advertised = await acts.setAdvertisedServices({
    namespace: pass.namespace,
    serviceName: pass.serviceName,
    advertiseOn: plan.advertiseOn,
    withdrawFrom: state.advertisedOn.filter((n) => !plan.advertiseOn.includes(n)),
    ...(backend.serve !== undefined ? { serve: backend.serve } : {}),
  });
  const { next, report } = await joinVip(pass, state, plan, selection, backend, vip);
  const readvertised = await followVipReport(pass, state, plan, backend, report, next);
  await acts.cleanupAutoProvisionedEndpoints({ namespace: pass.namespace });
  const servicesPass: ServicesPass = {
    replicas: (readvertised ?? advertised).replicas,
    withheld: next.nameClash !== undefined,
    refused: report?.outcome === claimRefusedOutcome,
    hasTemplate: Boolean(spec.endpointTemplate),
    ...(backend.verdict ? { backend: backend.verdict } : {}),
  };
  await publishServicesStatus(pass, tailnet.dnsSuffix, selection, report, servicesPass);
  const reportKey = report ? publishedKey(report, false) : '';
  return { ...next, lastStatus: { dnsSuffix: tailnet.dnsSuffix, selection, pass: servicesPass, reportKey } };
}

/** A pass that published no status of its own whole pass leaves nothing for news of hosts to reuse. */
const withoutStatus = (state: ServicesState): ServicesState => ({ ...state, lastStatus: undefined });

/**
 * News that changes only the service's hosts, every one of them advertising (one approved, one more
 * advertising), changes only Ready: the status of the last whole pass is published again with the new
 * report. Any other change (attachment, outcome, error, a host that stopped advertising, which the
 * whole pass's advertising write may repair) takes the whole pass. Returns undefined when it does.
 */
async function publishHostsNews(
  snapshot: ObjectSnapshot<TailscaleServicesSpec>,
  state: ServicesState,
  vip: VipConsumer,
): Promise<ServicesState | undefined> {
  const last = state.lastStatus;
  const report = vip.latest();
  if (!last || !report || report.ackRequestId < state.requestId) return undefined;
  if (!report.hosts?.every((h) => h.advertising)) return undefined;
  if (publishedKey(report, false) !== last.reportKey || !hasShippedPatch(hostsNewsStatusPatch))
    return undefined;
  vip.passStarted();
  await publishServicesStatus(passContext(snapshot), last.dnsSuffix, last.selection, report, last.pass);
  vip.publishedReport(report);
  return state;
}

/**
 * The pass's reads that write nothing: since the patch they start at once, beside the finalizer write. A
 * template's selection may create endpoints, so it waits for the finalizer as every write does.
 */
function passReads({ snapshot: { spec, metadata }, namespace }: PassContext) {
  const tailnet = () => acts.getTailnetStatus({ name: spec.tailnet });
  const selection = () =>
    acts.selectEndpoints({
      namespace,
      owner: { name: metadata.name, uid: metadata.uid },
      tailnet: spec.tailnet,
      selector: spec.selector,
      template: spec.endpointTemplate,
      defaultTags: spec.vipService.tags,
    });
  if (!hasShippedPatch(readsAlongsidePatch)) return { tailnet, selection };
  const early = {
    tailnet: settledLater(tailnet()),
    selection: spec.endpointTemplate ? undefined : settledLater(selection()),
  };
  return { tailnet: () => early.tailnet, selection: () => early.selection ?? selection() };
}

async function holdFinalizer(
  { snapshot: { metadata }, namespace }: PassContext,
  added: () => void,
): Promise<boolean> {
  if (metadata.finalizers?.includes(finalizerName)) return true;
  const held = await acts.ensureFinalizer({
    resource: servicesResource,
    namespace,
    name: metadata.name,
    uid: metadata.uid,
  });
  if (held.skipped) return false;
  added();
  return true;
}

function tailnetNotReady(name: string, tailnet: TailnetStatusView): ConditionUpdate {
  const reason = tailnet.exists ? ServicesReason.TailnetNotReady : ServicesReason.TailnetNotFound;
  return notReady(
    reason,
    `spec.tailnet: ${tailnet.exists ? `TailscaleTailnet ${name} is not Ready (${tailnet.reason}: ${tailnet.message})` : tailnet.message}`,
  );
}

type BackendProblem = Extract<BackendResolution, { ok: false }>;

/** What the proxies forward the service to, and the verdict BackendReady shows. */
interface BackendStep {
  /** The serve config to write; null removes one an earlier pass wrote; undefined leaves it alone. */
  serve?: ServiceConfig | null;
  problem?: BackendProblem;
  verdict?: 'ok' | 'none' | BackendProblem;
}

/**
 * A backend that cannot be served yet (no such Service, port, cluster IP) keeps the service off the
 * proxies: advertised, it would take traffic to nowhere. Without a backend, an entry is removed only
 * if an earlier pass wrote one (no read on every pass).
 */
async function resolveBackend(
  { snapshot: { spec }, namespace, serviceName }: PassContext,
  state: ServicesState,
  dnsSuffix: string | undefined,
): Promise<BackendStep> {
  if (!hasShippedPatch(backendPatch)) return {};
  if (!spec.backend) return { verdict: 'none', ...(state.served ? { serve: null } : {}) };
  const backend = await acts.resolveServiceBackend({
    namespace,
    serviceName,
    dnsSuffix,
    vipPorts: spec.vipService.ports,
    backend: spec.backend,
  });
  return backend.ok ? { serve: backend.config, verdict: 'ok' } : { problem: backend, verdict: backend };
}

/** Where this pass advertises the name before the VIP workflow answers, and why not elsewhere. */
interface AdvertisePlan {
  /** The selected endpoints the service can be served on. */
  usable: string[];
  advertiseOn: string[];
  vipSpec: { ports: string[]; tags: string[]; comment?: string };
  clashKey: string;
  /** Tailscale refused this very spec's name as a device's: the proxies do not advertise it meanwhile. */
  withheld: boolean;
  admittedKey: string;
  /** Nor before the VIP workflow admits our claim: another namespace's service must never be advertised. */
  admitted: boolean;
}

function advertisePlan(
  { snapshot: { spec }, serviceName }: PassContext,
  state: ServicesState,
  selection: Selection,
  backend: BackendStep,
): AdvertisePlan {
  const usable = backend.problem ? [] : selection.selected.map((e) => e.name);
  const vipSpec = {
    ports: spec.vipService.ports,
    tags: spec.vipService.tags,
    comment: spec.vipService.comment,
  };
  const clashKey = JSON.stringify([spec.tailnet, serviceName, vipSpec]);
  const withheld = state.nameClash === clashKey;
  const admittedKey = JSON.stringify([spec.tailnet, serviceName]);
  const admitted = !hasShippedPatch(advertiseAfterClaimPatch) || state.admitted === admittedKey;
  const advertiseOn = withheld || !admitted ? [] : usable;
  return { usable, advertiseOn, vipSpec, clashKey, withheld, admittedKey, admitted };
}

/**
 * Leaves a renamed VIP service (or moved tailnet) first, then tells the VIP workflow our change and
 * waits for its report. A pass that changes nothing for it (a re-check, our own finalizer write, a
 * resync) sends nothing while it runs: it re-verifies the service on its own timer.
 */
async function joinVip(
  { snapshot, serviceName }: PassContext,
  state: ServicesState,
  plan: AdvertisePlan,
  selection: Selection,
  backend: BackendStep,
  vip: VipConsumer,
): Promise<{ next: ServicesState; report: VipServiceReport | undefined }> {
  const { metadata, spec } = snapshot;
  const next: ServicesState = {
    advertisedOn: plan.advertiseOn,
    requestId: state.requestId,
    vip: { tailnet: spec.tailnet, serviceName },
    ...(plan.admitted && state.admitted ? { admitted: state.admitted } : {}),
    ...(backend.serve ? { served: true } : {}),
  };
  if (state.vip && (state.vip.serviceName !== serviceName || state.vip.tailnet !== spec.tailnet)) {
    next.requestId++;
    await vip.leave({ ...state.vip, route: routeOf(snapshot) }, next.requestId);
  }
  const change = {
    tailnet: spec.tailnet,
    serviceName,
    consumerWorkflowId: workflowInfo().workflowId,
    route: routeOf(snapshot),
    spec: plan.vipSpec,
    devices: selection.selected.flatMap((e) => e.nodeIds),
    claim: {
      createdAt: metadata.creationTimestamp,
      uid: metadata.uid,
      allowedNamespaces: spec.vipService.allowedNamespaces,
    },
  };
  const changeKey = JSON.stringify(change);
  const acknowledged = lateAcknowledgement(state, vip) ?? state.acknowledged;
  const known = acknowledged?.change === changeKey && next.requestId === acknowledged.report.ackRequestId;
  const { signalled } = await vip.join({ ...change, requestId: next.requestId + 1, unlessRunning: known });
  let report: VipServiceReport | undefined;
  if (signalled) {
    next.requestId++;
    report = await vip.replyTo(next.requestId, vipReplyTimeout);
    if (!report) next.unanswered = { change: changeKey, requestId: next.requestId };
  } else {
    const latest = vip.latest();
    report = latest && latest.ackRequestId >= next.requestId ? latest : acknowledged?.report;
  }
  if (report && !report.error) next.acknowledged = { change: changeKey, report };
  vip.publishedReport(report);
  return { next, report };
}

/** The reply that came after its pass stopped waiting, taken as the acknowledgement of the change sent. */
function lateAcknowledgement(state: ServicesState, vip: VipConsumer): ServicesState['acknowledged'] {
  const sent = state.unanswered;
  if (!sent || !hasShippedPatch(lateAcknowledgementPatch)) return undefined;
  const late = vip.latest();
  return late && late.ackRequestId === sent.requestId && !late.error
    ? { change: sent.change, report: late }
    : undefined;
}

/**
 * Withdraws the name everywhere when Tailscale refuses it or our claim was refused, or advertises it
 * once it is usable or our claim admitted. Returns the advertisement written, if any; updates `next`.
 */
async function followVipReport(
  { namespace, serviceName }: PassContext,
  state: ServicesState,
  plan: AdvertisePlan,
  backend: BackendStep,
  report: VipServiceReport | undefined,
  next: ServicesState,
): Promise<Awaited<ReturnType<Activities['setAdvertisedServices']>> | undefined> {
  const withdrawEverywhere = async () => {
    if (!plan.advertiseOn.length) return undefined;
    next.advertisedOn = [];
    return acts.setAdvertisedServices({
      namespace,
      serviceName,
      advertiseOn: [],
      withdrawFrom: plan.advertiseOn,
    });
  };
  if (report?.errorType === nameClashError && hasShippedPatch(nameClashPatch)) {
    next.nameClash = plan.clashKey;
    return withdrawEverywhere();
  }
  if (report?.outcome === claimRefusedOutcome) {
    // Another namespace owns the name (or its owner took back our grant): withdraw it everywhere.
    next.admitted = undefined;
    return withdrawEverywhere();
  }
  if ((plan.withheld || !plan.admitted) && report && !report.error) {
    // The name is usable now (another consumer's change made the VIP workflow try it again), or our
    // claim on it was admitted.
    next.advertisedOn = plan.usable;
    if (!plan.admitted) next.admitted = plan.admittedKey;
    return acts.setAdvertisedServices({
      namespace,
      serviceName,
      advertiseOn: plan.usable,
      withdrawFrom: [],
      ...(backend.serve !== undefined ? { serve: backend.serve } : {}),
    });
  }
  if (plan.withheld) next.nameClash = state.nameClash;
  return undefined;
}

async function publishServicesStatus(
  { publish, serviceName }: PassContext,
  dnsSuffix: string | undefined,
  selection: Selection,
  vip: VipServiceReport | undefined,
  pass: ServicesPass,
): Promise<void> {
  const dnsName = dnsSuffix ? `${vipServiceLabel(serviceName)}.${dnsSuffix}` : undefined;
  await publish(servicesConditions(serviceName, selection, vip, pass), {
    vipService: vip?.attached
      ? {
          name: serviceName,
          addresses: vip.addresses,
          dnsName,
          ownerOperator: vip.ownerOperator,
          consumers: vip.consumers,
        }
      : { name: serviceName },
    hosts: vip?.attached && vip.hosts ? vip.hosts.map(hostStatus) : null,
    selectedEndpoints: selection.selected.map((e) => ({
      name: e.name,
      autoProvisioned: e.autoProvisioned,
      devices: e.devices,
      ready: e.ready,
    })),
    totalBackends: selection.selected.reduce((n, e) => n + e.devices.length, 0),
    healthyBackends: selection.selected.reduce((n, e) => n + e.onlineDevices, 0),
  });
}

/** Versions the cleanup: unjoined objects on a missing tailnet, a condition and backoff when blocked. */
const cleanupPatch = 'services-cleanup-unwedged';

async function cleanupServices(
  snapshot: ObjectSnapshot<TailscaleServicesSpec>,
  state: ServicesState,
  vip: VipConsumer,
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
  const target = {
    ...(state.vip ?? { tailnet: snapshot.spec.tailnet, serviceName }),
    route: routeOf(snapshot),
  };
  // A run continued as new resumes the backoff where the previous one left it.
  const attemptsBefore = state.cleanup?.attempts ?? 0;
  let blocked = state.cleanup?.blocked;
  for (let requestId = state.requestId + 1; ; requestId++) {
    // Never joined a VIP service, and its tailnet does not exist (any more): nothing can be ours there.
    const unjoinedOnMissingTailnet =
      !state.vip &&
      hasShippedPatch(cleanupPatch) &&
      !(await acts.getTailnetStatus({ name: target.tailnet })).exists;
    if (unjoinedOnMissingTailnet) break;
    await vip.leave(target, requestId);
    const reply = await vip.replyTo(requestId, vipReplyTimeout);
    if (reply && !reply.error) break;
    // Tailscale unreachable or refusing: keep the finalizer (nothing is orphaned), say why, and try
    // again, backing off (the VIP workflow acts on each signal at once: no pause would be a hot loop).
    if (!hasShippedPatch(cleanupPatch)) continue;
    const why = `deletion waits for leaving VIP service ${target.serviceName} on tailnet ${target.tailnet}: ${reply?.error ?? 'no reply from its VIP service workflow'}`;
    if (why !== blocked) {
      blocked = why;
      await acts.patchStatus({
        resource: servicesResource,
        namespace,
        name: metadata.name,
        uid: metadata.uid,
        observedGeneration: metadata.generation,
        conditions: [notReady(ServicesReason.DeletionBlocked, why)],
      });
    }
    const attempts = attemptsBefore + requestId - state.requestId;
    await sleep(backoffMs(attempts, 1000, 5 * 60_000));
    // A long outage would grow this history without bound: the next run resumes from here.
    if (workflowInfo().continueAsNewSuggested && hasShippedPatch(cleanupContinuePatch)) {
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
  vip: VipConsumer,
): Promise<void> {
  if (!state?.vip || !hasShippedPatch(onDeletedPatch)) return;
  const namespace = input.namespace ?? '';
  try {
    await acts.setAdvertisedServices({
      namespace,
      serviceName: state.vip.serviceName,
      advertiseOn: [],
      withdrawFrom: state.advertisedOn,
    });
    const route = `services/${namespace}/${input.name}`;
    await vip.leave({ ...state.vip, route }, state.requestId + 1);
    await acts.cleanupAutoProvisionedEndpoints({ namespace });
  } catch (err) {
    log.warn('cleanup after deletion failed', { name: input.name, error: String(err) });
  }
}

const routeOf = (snapshot: ObjectSnapshot<unknown>) =>
  `services/${snapshot.metadata.namespace ?? ''}/${snapshot.metadata.name}`;

function validate(snapshot: ObjectSnapshot<TailscaleServicesSpec>, serviceName: string): string | undefined {
  if (!/^svc:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(serviceName)) {
    return `spec.vipService.name is unset and metadata.name ${snapshot.metadata.name} does not make a valid svc:<dns-label>: set spec.vipService.name`;
  }
  if (selectorIsEmpty(snapshot.spec.selector)) {
    return 'spec.selector is empty: it must name the labels of the TailscaleEndpoints to use';
  }
  return undefined;
}
