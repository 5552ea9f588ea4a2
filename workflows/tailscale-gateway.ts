import {
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import { finalizerName } from '../api/common';
import type { Duration } from '@temporalio/common';
import type { ConditionUpdate } from '../api/conditions';
import type { ResourceRef } from '../api/crd';
import type { TailscaleGatewaySpec } from '../api/v1alpha1/tailscale-gateway';
import type { Activities } from '../activities';
import type { GatewayResolution } from '../activities/gateway';
import type { Publication } from '../activities/gateway-api/publish';
import type { TailnetStatusView } from '../activities/services';
import { vipStatusSignal, type VipServiceReport } from './messages';
import { runResourceLoop } from './resource-loop';
import type { ObjectSnapshot, ResourceWorkflowInput } from './types';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

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
}

export type TailscaleGatewayWorkflowInput = ResourceWorkflowInput<TailscaleGatewaySpec, GatewayState>;

const vipReplyTimeout = '2m';
/** An unchanged, healthy membership is re-sent this often (repairs a VIP workflow that was lost). */
const rejoinAfterMs = 24 * 60 * 60_000;
const maxCleanupWaitMs = 30 * 60_000;
const emptyState = (): GatewayState => ({ requestId: 0, memberships: {} });

/**
 * One per TailscaleGateway (`gateway/<ns>/<name>`): finds the routes attached to its Gateway, maps each
 * to the Tailscale backends it references, joins the VIP workflow `vip/<tailnet>/<svc>` of every route
 * it publishes (attach, never duplicate; leave when the route goes), and publishes the mappings with
 * `ServicesReady` and `Ready`. Route, Gateway and backend changes reach it through the watchers.
 */
export async function tailscaleGatewayWorkflow(input: TailscaleGatewayWorkflowInput): Promise<void> {
  const vip = new VipMemberships(input.state);
  await runResourceLoop<TailscaleGatewaySpec, GatewayState>({
    input,
    recheckInterval: '6h',
    reconcile: (snapshot, state) => reconcileGateway(snapshot, state ?? emptyState(), vip),
    cleanup: (snapshot, state) => cleanupGateway(input, snapshot, state ?? emptyState(), vip),
    onDeleted: async (state) => {
      // Gone without our finalizer (removed by hand): still leave, best effort, without waiting.
      const next = state ?? emptyState();
      for (const m of Object.values(next.memberships)) await vip.leave(m, ++next.requestId);
    },
    continueAsNew: (next) => continueAsNew<typeof tailscaleGatewayWorkflow>(next),
  });
}

/** Replies of the VIP workflows this gateway consumes, matched to requests by request id. */
class VipMemberships {
  private readonly reports: Map<string, VipServiceReport>;
  private readonly sent = new Map<number, string>();

  constructor(state: GatewayState | undefined) {
    this.reports = new Map(Object.entries(state?.reports ?? {}));
    for (const [key, m] of Object.entries(state?.memberships ?? {})) this.sent.set(m.requestId, key);
    setHandler(vipStatusSignal, (r) => {
      if (r.consumerRunId && r.consumerRunId !== workflowInfo().firstExecutionRunId) return;
      const key = this.sent.get(r.ackRequestId);
      if (!key || !key.endsWith(`/${r.serviceName}`)) return;
      const previous = this.reports.get(key);
      if (!previous || r.ackRequestId >= previous.ackRequestId) this.reports.set(key, r);
    });
  }

  async join(m: GatewayVipMembership): Promise<void> {
    this.sent.set(m.requestId, keyOf(m));
    await acts.signalVipService({
      tailnet: m.tailnet,
      serviceName: m.serviceName,
      consumerWorkflowId: workflowInfo().workflowId,
      consumerRunId: workflowInfo().firstExecutionRunId,
      route: m.consumerRoute,
      requestId: m.requestId,
      spec: m.spec,
      devices: [],
    });
  }

  async leave(m: GatewayVipMembership, requestId: number): Promise<number> {
    this.sent.set(requestId, keyOf(m));
    await acts.signalVipService({
      tailnet: m.tailnet,
      serviceName: m.serviceName,
      consumerWorkflowId: workflowInfo().workflowId,
      consumerRunId: workflowInfo().firstExecutionRunId,
      route: m.consumerRoute,
      requestId,
      remove: true,
    });
    return requestId;
  }

  /** The newest reply to a request at or after `requestId` for that service, if any. */
  reply(key: string, requestId: number): VipServiceReport | undefined {
    const r = this.reports.get(key);
    return r && r.ackRequestId >= requestId ? r : undefined;
  }

  acked(requestId: number): boolean {
    const key = this.sent.get(requestId);
    return key !== undefined && this.reply(key, requestId) !== undefined;
  }

  async replies(requestIds: number[], timeout: Duration): Promise<void> {
    if (requestIds.length) await condition(() => requestIds.every((id) => this.acked(id)), timeout);
  }

  /** Forget what no longer matters; the rest is carried in state across continue-as-new. */
  retain(memberships: Record<string, GatewayVipMembership>): Record<string, VipServiceReport> {
    for (const [id, key] of this.sent) if (memberships[key]?.requestId !== id) this.sent.delete(id);
    for (const key of this.reports.keys()) if (!memberships[key]) this.reports.delete(key);
    return Object.fromEntries(this.reports);
  }
}

const keyOf = (m: { tailnet: string; serviceName: string }) => `${m.tailnet}/${m.serviceName}`;

async function reconcileGateway(
  snapshot: ObjectSnapshot<TailscaleGatewaySpec>,
  state: GatewayState,
  vip: VipMemberships,
): Promise<GatewayState> {
  const { metadata, spec } = snapshot;
  const namespace = metadata.namespace ?? '';
  if (!metadata.finalizers?.includes(finalizerName)) {
    await acts.ensureFinalizer({
      resource: gatewayResource,
      namespace,
      name: metadata.name,
      uid: metadata.uid,
    });
  }

  const tailnetNames = [
    ...new Set([
      ...(spec.tailnets ?? []),
      ...(spec.publish ?? []).flatMap((p) => (p.tailnet ? [p.tailnet] : [])),
    ]),
  ];
  // Independent reads, scheduled together: one workflow task instead of one per read.
  const [tailnetViews, resolution] = await Promise.all([
    Promise.all(tailnetNames.map(async (name) => [name, await acts.getTailnetStatus({ name })] as const)),
    acts.resolveGatewayRoutes({ namespace, name: metadata.name, spec }),
  ]);
  const tailnets = Object.fromEntries(tailnetViews);
  const publish = (conditions: ConditionUpdate[], fields: Record<string, unknown>) =>
    acts.patchStatus({
      resource: gatewayResource,
      namespace,
      name: metadata.name,
      uid: metadata.uid,
      observedGeneration: metadata.generation,
      conditions,
      fields,
    });

  if (resolution.forbidden) {
    // Routes unknown, not gone: no VIP service is left or joined on a partial view.
    const message = `the operator may not read the Gateway API objects it needs (grant it get/list/watch on Gateways, routes and ReferenceGrants, and list on Namespaces): ${resolution.forbidden}`;
    await publish(
      [
        { type: 'ServicesReady', status: 'Unknown', reason: 'Forbidden', message },
        { type: 'Ready', status: 'False', reason: 'Forbidden', message },
      ],
      {},
    );
    return state;
  }

  const next: GatewayState = { requestId: state.requestId, memberships: {} };
  const waitFor: number[] = [];
  const desired = new Map(resolution.plan.publications.map((p) => [keyOf(p), p]));
  for (const [key, m] of Object.entries(state.memberships)) {
    if (desired.has(key)) continue;
    waitFor.push(await vip.leave(m, ++next.requestId));
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
    const membership = { ...wanted, routes: p.routes, requestId: ++next.requestId, sentAt: now };
    await vip.join(membership);
    next.memberships[key] = membership;
    waitFor.push(membership.requestId);
  }
  await vip.replies(waitFor, vipReplyTimeout);
  next.reports = vip.retain(next.memberships);

  const status = gatewayStatus(spec, resolution, tailnets, next, vip);
  await publish(status.conditions, { routes: status.routes });
  upsertMemo({
    gateway: `${resolution.gateway.namespace}/${resolution.gateway.name}`,
    routes: resolution.routes.length,
    vipServices: Object.keys(next.memberships),
    ready: status.conditions.find((c) => c.type === 'Ready')?.reason ?? null,
  });
  return next;
}

const membershipChange = (
  m: Pick<GatewayVipMembership, 'tailnet' | 'serviceName' | 'consumerRoute' | 'spec'>,
) => [m.tailnet, m.serviceName, m.consumerRoute, m.spec.ports, m.spec.tags, m.spec.comment ?? null];

async function cleanupGateway(
  input: TailscaleGatewayWorkflowInput,
  snapshot: ObjectSnapshot<TailscaleGatewaySpec>,
  state: GatewayState,
  vip: VipMemberships,
): Promise<void> {
  const { metadata } = snapshot;
  // Leave every VIP service; one that could not be left yet (Tailscale unreachable) keeps the finalizer,
  // so nothing is orphaned, and is asked again with a growing pause.
  let pending = Object.values(state.memberships);
  for (let attempt = 0; pending.length; attempt++) {
    const sent = await Promise.all(
      pending.map(async (m) => [m, await vip.leave(m, ++state.requestId)] as const),
    );
    await vip.replies(
      sent.map(([, id]) => id),
      Math.min(2 ** attempt * 120_000, maxCleanupWaitMs),
    );
    pending = sent
      .filter(([m, id]) => vip.reply(keyOf(m), id)?.error !== undefined || !vip.acked(id))
      .map(([m]) => m);
    state.memberships = Object.fromEntries(pending.map((m) => [keyOf(m), m]));
    if (pending.length && workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof tailscaleGatewayWorkflow>({
        ...input,
        pending: snapshot,
        current: snapshot,
        state,
      });
    }
  }
  await acts.removeFinalizer({
    resource: gatewayResource,
    namespace: metadata.namespace ?? '',
    name: metadata.name,
    uid: metadata.uid,
  });
}

interface Problem {
  reason: string;
  message: string;
}

/** Status fields and conditions from what this pass found; pure. */
function gatewayStatus(
  spec: TailscaleGatewaySpec,
  resolution: GatewayResolution,
  tailnets: Record<string, TailnetStatusView>,
  state: GatewayState,
  vip: VipMemberships,
) {
  const byRoute = resolution.plan.byRoute;
  const routes = resolution.routes.map((r) => {
    const key = `${r.kind}/${r.namespace}/${r.name}`;
    const published = byRoute[key];
    const membership = published && state.memberships[keyOf(published)];
    const reply = membership && vip.reply(keyOf(membership), membership.requestId);
    const dnsSuffix = published && tailnets[published.tailnet]?.dnsSuffix;
    return {
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      backends: r.backends.map((b) => ({
        kind: b.kind,
        name: b.name,
        ...(b.namespace !== r.namespace ? { namespace: b.namespace } : {}),
        ...(b.vipService ? { vipService: b.vipService } : {}),
        ready: b.ready,
      })),
      ...(published
        ? {
            published: {
              tailnet: published.tailnet,
              vipService: published.serviceName,
              ...(reply?.attached && reply.addresses.length ? { addresses: reply.addresses } : {}),
              ...(dnsSuffix ? { dnsName: `${published.serviceName.slice('svc:'.length)}.${dnsSuffix}` } : {}),
            },
          }
        : {}),
    };
  });

  const problems: Problem[] = [
    ...resolution.routes.flatMap((r) => r.backends.flatMap((b) => (b.problem ? [b.problem] : []))),
    ...resolution.plan.problems,
    ...resolution.plan.publications.flatMap((p) => publicationProblems(p, tailnets, state, vip)),
  ];
  const backends = resolution.routes.reduce((n, r) => n + r.backends.length, 0);
  const publications = resolution.plan.publications.length;
  const mismatched = resolution.plan.publications.filter((p) => {
    const m = state.memberships[keyOf(p)];
    return m && vip.reply(keyOf(m), m.requestId)?.outcome === 'SpecMismatch';
  });
  const gatewayName = `${resolution.gateway.namespace}/${resolution.gateway.name}`;

  const servicesReady: ConditionUpdate = !resolution.gateway.found
    ? {
        type: 'ServicesReady',
        status: 'Unknown',
        reason: 'GatewayNotFound',
        message: `no routes to resolve: ${resolution.gateway.message ?? 'the Gateway is missing'}`,
      }
    : problems.length
      ? { type: 'ServicesReady', status: 'False', ...summarize(problems) }
      : backends || publications
        ? {
            type: 'ServicesReady',
            status: 'True',
            reason: 'ServicesReady',
            message:
              `${resolution.routes.length} route(s); ${backends} Tailscale backend(s) Ready; ${publications} VIP service(s) published` +
              (mismatched.length
                ? `; ${mismatched.map((p) => p.serviceName).join(', ')} kept the spec of its owner operator (SpecMismatch)`
                : ''),
          }
        : {
            type: 'ServicesReady',
            status: 'True',
            reason: 'NoTailscaleBackends',
            message: `no route attached to Gateway ${gatewayName} references a TailscaleServices or TailscaleEndpoints, and spec.publish publishes none`,
          };

  const tailnetProblem = (spec.tailnets ?? []).flatMap((name, i) => {
    const t = tailnets[name];
    if (!t || t.ready) return [];
    return [
      {
        reason: t.exists ? 'TailnetNotReady' : 'TailnetNotFound',
        message: t.exists
          ? `spec.tailnets[${i}]: TailscaleTailnet ${name} is not Ready (${t.reason}: ${t.message})`
          : `spec.tailnets[${i}]: ${t.message}`,
      },
    ];
  })[0];
  const ready: ConditionUpdate = !resolution.gateway.found
    ? {
        type: 'Ready',
        status: 'False',
        reason: 'GatewayNotFound',
        message: `spec.gatewayRef: ${resolution.gateway.message ?? `Gateway ${gatewayName} does not exist`}`,
      }
    : tailnetProblem
      ? { type: 'Ready', status: 'False', ...tailnetProblem }
      : servicesReady.status !== 'True'
        ? { type: 'Ready', status: 'False', reason: servicesReady.reason, message: servicesReady.message }
        : {
            type: 'Ready',
            status: 'True',
            reason: 'Ready',
            message: `Gateway ${gatewayName}: ${servicesReady.message}`,
          };
  return { routes: routes.slice(0, 1024), conditions: [servicesReady, ready] };
}

function publicationProblems(
  p: Publication,
  tailnets: Record<string, TailnetStatusView>,
  state: GatewayState,
  vip: VipMemberships,
): Problem[] {
  const where = `${p.serviceName} on tailnet ${p.tailnet} (${p.routes.join(', ')})`;
  const tailnet = tailnets[p.tailnet];
  if (!tailnet?.ready) {
    return [
      {
        reason: tailnet?.exists === false ? 'TailnetNotFound' : 'TailnetNotReady',
        message: `${where}: ${tailnet?.exists === false ? tailnet.message : `TailscaleTailnet ${p.tailnet} is not Ready${tailnet ? ` (${tailnet.reason}: ${tailnet.message})` : ''}`}`,
      },
    ];
  }
  const m = state.memberships[keyOf(p)];
  const reply = m && vip.reply(keyOf(m), m.requestId);
  if (!reply) {
    return [{ reason: 'VIPServicePending', message: `${where}: waiting for the VIP service workflow` }];
  }
  if (reply.error) return [{ reason: 'VIPServiceError', message: `${where}: ${reply.error}` }];
  if (!reply.attached) return [{ reason: reply.outcome, message: `${where}: ${reply.message}` }];
  return [];
}

/** The first problem's reason, and up to three messages so one look at the condition says enough. */
function summarize(problems: Problem[]): { reason: string; message: string } {
  const shown = problems.slice(0, 3).map((p) => p.message);
  const more = problems.length > 3 ? `; and ${problems.length - 3} more` : '';
  return { reason: problems[0]?.reason ?? 'Unknown', message: shown.join('; ') + more };
}
