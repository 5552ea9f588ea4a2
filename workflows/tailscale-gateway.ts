import { continueAsNew, proxyActivities, upsertMemo, workflowInfo } from '@temporalio/workflow';
import { hasShippedPatch } from './patches';
import { finalizerName } from '../api/common';
import type { ResourceRef } from '../api/crd';
import type { TailscaleGatewaySpec } from '../api/v1alpha1/tailscale-gateway';
import type { Activities } from '../activities';
import type { Publication } from '../activities/gateway-api/publish';
import type { TailnetStatusView } from '../activities/services';
import { vipMembershipKey } from './ids';
import type { VipServiceReport } from './messages';
import { runResourceLoop } from './resource-loop';
import { statusPublisher } from './status-publisher';
import { forbiddenConditions, gatewayStatus } from './tailscale-gateway-status';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';
import { VipConsumer } from './vip-consumer';
import { backoffMs } from './backoff';
import { remoteActivityOptions } from './retry-policies';
import { hostOnPools, type PoolHostings } from './gateway-pools';

const acts = proxyActivities<Activities>(remoteActivityOptions('30s'));

// Kept literal (not imported from api/) so workflow code pulls in no schema builders.
const gatewayResource: ResourceRef = {
  group: 'gateway.tailscale.com',
  version: 'v1alpha1',
  plural: 'tailscalegateways',
  kind: 'TailscaleGateway',
  namespaced: true,
};

/** One VIP service this gateway consumes because it publishes routes as it (spec.publish). */
export interface GatewayVipMembership {
  tailnet: string;
  serviceName: string;
  consumerRoute: string;
  routes: string[];
  spec: Publication['spec'];
  /** The last change sent; the VIP workflow's reply acknowledges it. */
  requestId: number;
  /** Workflow time the last change was sent. */
  sentAt: number;
}

export interface GatewayState {
  /** Increases with every change sent to any VIP workflow, so a reply identifies its request. */
  requestId: number;
  /** Keyed `<tailnet>/<svc>`. */
  memberships: Record<string, GatewayVipMembership>;
  reports?: Record<string, VipServiceReport>;
  /** What the last published status showed of each reply (VipConsumer option `shown`). */
  vipShown?: Record<string, string>;
  /** Published services a TailscaleProxyGroup of this namespace hosts (spec.publish[].proxyGroup). */
  pools?: PoolHostings;
}

export type TailscaleGatewayWorkflowInput = ResourceWorkflowInput<TailscaleGatewaySpec, GatewayState>;

const vipReplyTimeout = '2m';
/** An unchanged, healthy membership is re-sent this often (repairs a VIP workflow that was lost). */
const rejoinAfterMs = 24 * 60 * 60_000;
const maxCleanupWaitMs = 30 * 60_000;
const emptyState = (): GatewayState => ({ requestId: 0, memberships: {} });
/** Versions a pass when a published service's hosts change (they decide Ready). */
const hostsNewsPatch = 'gateway-ready-needs-approved-host';
/**
 * Versions news judged on the replies the status shows (each membership's reply to its latest request,
 * or none): a reply that came after its pass stopped waiting for it waited for the 6 h recheck before.
 */
const lateReplyPatch = 'gateway-late-reply-is-news';

/**
 * One per TailscaleGateway (`gateway/<ns>/<name>`): finds the routes attached to its Gateway, maps each
 * to the Tailscale backends it references, joins the VIP workflow `vip/<tailnet>/<svc>` of every route
 * it publishes (attach, never duplicate; leave when the route goes), and publishes the mappings with
 * `ServicesReady` and `Ready`. Route, Gateway and backend changes reach it through the watchers.
 */
export async function tailscaleGatewayWorkflow(input: TailscaleGatewayWorkflowInput): Promise<void> {
  const vip = new VipConsumer({
    signal: acts.signalVipService,
    reports: input.state?.reports,
    shown: input.state?.vipShown,
    sent: Object.entries(input.state?.memberships ?? {}).map(([key, m]) => [m.requestId, key]),
    ...(hasShippedPatch(hostsNewsPatch) ? { news: { key: hostsKey, rule: 'any' } } : {}),
  });
  await runResourceLoop<TailscaleGatewaySpec, GatewayState>({
    input,
    recheckInterval: '6h',
    reconcile: async (snapshot, state, { addedOurFinalizer }) => ({
      state: {
        ...(await reconcileGateway(snapshot, state ?? emptyState(), vip, addedOurFinalizer)),
        vipShown: vip.shownKeys(),
      },
    }),
    cleanup: (snapshot, state) => cleanupGateway(input, snapshot, state ?? emptyState(), vip),
    onDeleted: async (state) => {
      // Gone without our finalizer (removed by hand): still leave, best effort, without waiting.
      const next = state ?? emptyState();
      for (const m of Object.values(next.memberships)) await leave(vip, m, ++next.requestId);
    },
    continueAsNew: (next) => continueAsNew<typeof tailscaleGatewayWorkflow>(next),
    wakeWhen: () => vip.news,
  });
}

/** A published service's hosts decide Ready: a reply changing them is news. */
const hostsKey = (r: VipServiceReport) => JSON.stringify(r.hosts ?? null);

const leave = (vip: VipConsumer, m: GatewayVipMembership, requestId: number) =>
  vip.leave(
    { tailnet: m.tailnet, serviceName: m.serviceName, route: m.consumerRoute },
    requestId,
    vipMembershipKey(m),
  );

async function reconcileGateway(
  snapshot: ObjectSnapshot<TailscaleGatewaySpec>,
  state: GatewayState,
  vip: VipConsumer,
  addedOurFinalizer: () => void,
): Promise<GatewayState> {
  const { metadata, spec } = snapshot;
  const namespace = metadata.namespace ?? '';
  // This pass sees every reply so far; one arriving later is news again (see VipConsumer.published).
  vip.passStarted();
  if (!metadata.finalizers?.includes(finalizerName)) {
    const held = await acts.ensureFinalizer({
      resource: gatewayResource,
      namespace,
      name: metadata.name,
      uid: metadata.uid,
    });
    if (!held.skipped) addedOurFinalizer();
  }
  const { tailnets, resolution } = await readGateway(snapshot);
  const publish = statusPublisher(acts.patchStatus, gatewayResource, snapshot);
  if (resolution.forbidden) {
    // Routes unknown, not gone: no VIP service is left or joined on a partial view.
    await publish(forbiddenConditions(resolution.forbidden), {});
    return state;
  }

  const next = await syncMemberships(snapshot, state, resolution.plan.publications, tailnets, vip);
  const repliesNow = () =>
    Object.fromEntries(
      Object.entries(next.memberships).map(([key, m]) => [key, vip.reply(key, m.requestId)]),
    );
  const replies = repliesNow();
  const pools = await hostOnPools({
    namespace,
    gateway: resolution.gateway,
    publications: resolution.plan.publications,
    previous: state.pools,
    membership: (p) => {
      const reply = replies[vipMembershipKey(p)];
      if (!reply || reply.error) return 'unknown';
      return reply.attached ? 'attached' : 'refused';
    },
  });
  if (pools.hosted) next.pools = pools.hosted;
  const status = gatewayStatus({ spec, resolution, tailnets, replies });
  const lateReplies = hasShippedPatch(lateReplyPatch);
  const seen = lateReplies ? vip.shownOf(replies) : vip.seen();
  await publish(status.conditions, { routes: status.routes });
  vip.published(seen, lateReplies ? vip.shownOf(repliesNow()) : undefined);
  upsertMemo({
    gateway: `${resolution.gateway.namespace}/${resolution.gateway.name}`,
    routes: resolution.routes.length,
    vipServices: Object.keys(next.memberships),
    ready: status.conditions.find((c) => c.type === 'Ready')?.reason ?? null,
  });
  return next;
}

/** The tailnets the gateway names, and its routes; independent reads, scheduled in one workflow task. */
async function readGateway({ metadata, spec }: ObjectSnapshot<TailscaleGatewaySpec>) {
  const tailnetNames = [
    ...new Set([
      ...(spec.tailnets ?? []),
      ...(spec.publish ?? []).flatMap((p) => (p.tailnet ? [p.tailnet] : [])),
    ]),
  ];
  const [tailnetViews, resolution] = await Promise.all([
    Promise.all(tailnetNames.map(async (name) => [name, await acts.getTailnetStatus({ name })] as const)),
    acts.resolveGatewayRoutes({ namespace: metadata.namespace ?? '', name: metadata.name, spec }),
  ]);
  return { tailnets: Object.fromEntries(tailnetViews), resolution };
}

/**
 * Leaves the VIP services no longer published, joins (or updates) the published ones on a Ready
 * tailnet, and waits for the replies. An unchanged, healthy membership is re-sent only after
 * rejoinAfterMs.
 */
async function syncMemberships(
  { metadata }: ObjectSnapshot<TailscaleGatewaySpec>,
  state: GatewayState,
  publications: Publication[],
  tailnets: Record<string, TailnetStatusView>,
  vip: VipConsumer,
): Promise<GatewayState> {
  const next: GatewayState = { requestId: state.requestId, memberships: {} };
  const waitFor: number[] = [];
  const desired = new Map(publications.map((p) => [vipMembershipKey(p), p]));
  for (const [key, m] of Object.entries(state.memberships)) {
    if (desired.has(key)) continue;
    waitFor.push(await leave(vip, m, ++next.requestId));
  }
  const now = Date.now();
  for (const [key, p] of desired) {
    const previous = state.memberships[key];
    // A publication on a tailnet that is not Ready is held as it is: neither joined nor left.
    if (!tailnets[p.tailnet]?.ready) {
      if (previous) next.memberships[key] = previous;
      continue;
    }
    const wanted = {
      tailnet: p.tailnet,
      serviceName: p.serviceName,
      consumerRoute: p.consumerRoute,
      spec: p.spec,
    };
    const reply = previous && vip.reply(key, previous.requestId);
    const unchanged =
      previous && JSON.stringify(membershipChange(previous)) === JSON.stringify(membershipChange(wanted));
    if (unchanged && reply?.attached && !reply.error && now - previous.sentAt < rejoinAfterMs) {
      next.memberships[key] = { ...previous, routes: p.routes };
      continue;
    }
    const m = { ...wanted, routes: p.routes, requestId: ++next.requestId, sentAt: now };
    const claim = { createdAt: metadata.creationTimestamp, uid: metadata.uid };
    const join = { tailnet: m.tailnet, serviceName: m.serviceName, route: m.consumerRoute };
    await vip.join({ ...join, requestId: m.requestId, spec: m.spec, devices: [], claim }, key);
    next.memberships[key] = m;
    waitFor.push(m.requestId);
  }
  await vip.replies(waitFor, vipReplyTimeout);
  next.reports = vip.retain(next.memberships);
  return next;
}

const membershipChange = (
  m: Pick<GatewayVipMembership, 'tailnet' | 'serviceName' | 'consumerRoute' | 'spec'>,
) => [m.tailnet, m.serviceName, m.consumerRoute, m.spec.ports, m.spec.tags, m.spec.comment ?? null];

async function cleanupGateway(
  input: TailscaleGatewayWorkflowInput,
  snapshot: ObjectSnapshot<TailscaleGatewaySpec>,
  state: GatewayState,
  vip: VipConsumer,
): Promise<void> {
  const { metadata } = snapshot;
  // Leave every VIP service; one that could not be left yet (Tailscale unreachable) keeps the finalizer,
  // so nothing is orphaned, and is asked again with a growing pause.
  let pending = Object.values(state.memberships);
  for (let attempt = 0; pending.length; attempt++) {
    const sent = await Promise.all(
      pending.map(async (m) => [m, await leave(vip, m, ++state.requestId)] as const),
    );
    await vip.replies(
      sent.map(([, id]) => id),
      backoffMs(attempt, 120_000, maxCleanupWaitMs),
    );
    pending = sent
      .filter(([m, id]) => vip.reply(vipMembershipKey(m), id)?.error !== undefined || !vip.acked(id))
      .map(([m]) => m);
    state.memberships = Object.fromEntries(pending.map((m) => [vipMembershipKey(m), m]));
    if (pending.length && workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof tailscaleGatewayWorkflow>({
        ...input,
        pending: snapshot,
        current: snapshot,
        state,
      });
    }
  }
  const namespace = metadata.namespace ?? '';
  await hostOnPools({ namespace, gateway: { namespace, name: '' }, publications: [], previous: state.pools });
  await acts.removeFinalizer({
    resource: gatewayResource,
    namespace: metadata.namespace ?? '',
    name: metadata.name,
    uid: metadata.uid,
  });
}
