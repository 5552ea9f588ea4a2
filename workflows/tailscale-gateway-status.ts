import type { ConditionUpdate } from '../api/conditions';
import { GatewayReason as R } from '../api/reasons';
import type { TailscaleGatewaySpec } from '../api/v1alpha1/tailscale-gateway';
import type { GatewayResolution } from '../activities/gateway';
import type { Publication } from '../activities/gateway-api/publish';
import type { TailnetStatusView } from '../activities/services';
import { vipServiceLabel } from '../api/vip-service-name';
import { vipMembershipKey } from './ids';
import type { VipServiceReport } from './messages';
import { hostsReadiness } from './vip-hosts';

/** What one pass of the gateway workflow found, as far as its status tells. */
export interface GatewayView {
  spec: TailscaleGatewaySpec;
  resolution: GatewayResolution;
  tailnets: Record<string, TailnetStatusView>;
  /** The VIP workflow's reply to each membership's last request, keyed by vipMembershipKey. */
  replies: Record<string, VipServiceReport | undefined>;
}

export interface Problem {
  reason: string;
  message: string;
}

/** Status fields and conditions from what this pass found. */
export function gatewayStatus(view: GatewayView) {
  const servicesReady = servicesReadyCondition(view);
  const ready = readyCondition(view, servicesReady);
  return { routes: routeStatuses(view).slice(0, 1024), conditions: [servicesReady, ready] };
}

/** Routes unknown, not gone: the operator may not read the Gateway API objects it needs. */
export function forbiddenConditions(forbidden: string): ConditionUpdate[] {
  const message = `the operator may not read the Gateway API objects it needs (grant it get/list/watch on Gateways, routes and ReferenceGrants, and list on Namespaces): ${forbidden}`;
  return [
    { type: 'ServicesReady', status: 'Unknown', reason: R.Forbidden, message },
    { type: 'Ready', status: 'False', reason: R.Forbidden, message },
  ];
}

/** status.routes: each attached route, its Tailscale backends and where it is published. */
export function routeStatuses({ resolution, tailnets, replies }: GatewayView) {
  return resolution.routes.map((r) => {
    const published = resolution.plan.byRoute[`${r.kind}/${r.namespace}/${r.name}`];
    const reply = published && replies[vipMembershipKey(published)];
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
              ...(dnsSuffix ? { dnsName: `${vipServiceLabel(published.serviceName)}.${dnsSuffix}` } : {}),
            },
          }
        : {}),
    };
  });
}

const gatewayNameOf = ({ gateway }: GatewayResolution) => `${gateway.namespace}/${gateway.name}`;

export function servicesReadyCondition(view: GatewayView): ConditionUpdate {
  const { resolution, replies } = view;
  const type = 'ServicesReady';
  if (!resolution.gateway.found) {
    const message = `no routes to resolve: ${resolution.gateway.message ?? 'the Gateway is missing'}`;
    return { type, status: 'Unknown', reason: R.GatewayNotFound, message };
  }
  const problems: Problem[] = [
    ...resolution.routes.flatMap((r) => r.backends.flatMap((b) => (b.problem ? [b.problem] : []))),
    ...resolution.plan.problems,
    ...resolution.plan.publications.flatMap((p) => publicationProblems(p, view)),
  ];
  if (problems.length) return { type, status: 'False', ...summarize(problems) };
  const backends = resolution.routes.reduce((n, r) => n + r.backends.length, 0);
  const publications = resolution.plan.publications;
  if (!backends && !publications.length) {
    const message = `no route attached to Gateway ${gatewayNameOf(resolution)} references a TailscaleServices or TailscaleEndpoints, and spec.publish publishes none`;
    return { type, status: 'True', reason: R.NoTailscaleBackends, message };
  }
  const mismatched = publications.filter((p) => replies[vipMembershipKey(p)]?.outcome === R.SpecMismatch);
  const message =
    `${resolution.routes.length} route(s); ${backends} Tailscale backend(s) Ready; ${publications.length} VIP service(s) published` +
    (mismatched.length
      ? `; ${mismatched.map((p) => p.serviceName).join(', ')} kept the spec of its owner operator (SpecMismatch)`
      : '');
  return { type, status: 'True', reason: R.ServicesReady, message };
}

/** Ready: the Gateway, then the first of spec.tailnets not Ready, then ServicesReady. */
export function readyCondition(
  { spec, resolution, tailnets }: GatewayView,
  servicesReady: ConditionUpdate,
): ConditionUpdate {
  const type = 'Ready';
  const gatewayName = gatewayNameOf(resolution);
  if (!resolution.gateway.found) {
    const message = `spec.gatewayRef: ${resolution.gateway.message ?? `Gateway ${gatewayName} does not exist`}`;
    return { type, status: 'False', reason: R.GatewayNotFound, message };
  }
  const tailnetProblem = (spec.tailnets ?? []).flatMap((name, i): Problem[] => {
    const t = tailnets[name];
    if (!t || t.ready) return [];
    return t.exists
      ? [
          {
            reason: R.TailnetNotReady,
            message: `spec.tailnets[${i}]: TailscaleTailnet ${name} is not Ready (${t.reason}: ${t.message})`,
          },
        ]
      : [{ reason: R.TailnetNotFound, message: `spec.tailnets[${i}]: ${t.message}` }];
  })[0];
  if (tailnetProblem) return { type, status: 'False', ...tailnetProblem };
  if (servicesReady.status !== 'True') {
    return { type, status: 'False', reason: servicesReady.reason, message: servicesReady.message };
  }
  return {
    type,
    status: 'True',
    reason: R.Ready,
    message: `Gateway ${gatewayName}: ${servicesReady.message}`,
  };
}

/** Why a publication carries no traffic yet: its tailnet, its VIP service, or its hosts. */
export function publicationProblems(p: Publication, { tailnets, replies }: GatewayView): Problem[] {
  const where = `${p.serviceName} on tailnet ${p.tailnet} (${p.routes.join(', ')})`;
  const tailnet = tailnets[p.tailnet];
  if (!tailnet?.ready) {
    return [
      {
        reason: tailnet?.exists === false ? R.TailnetNotFound : R.TailnetNotReady,
        message: `${where}: ${tailnet?.exists === false ? tailnet.message : `TailscaleTailnet ${p.tailnet} is not Ready${tailnet ? ` (${tailnet.reason}: ${tailnet.message})` : ''}`}`,
      },
    ];
  }
  const reply = replies[vipMembershipKey(p)];
  if (!reply) {
    return [{ reason: R.VIPServicePending, message: `${where}: waiting for the VIP service workflow` }];
  }
  if (reply.error) return [{ reason: R.VIPServiceError, message: `${where}: ${reply.error}` }];
  if (!reply.attached) return [{ reason: reply.outcome, message: `${where}: ${reply.message}` }];
  // This install's owner, another install's spec applied: not Ready (a sharer only gets the note).
  if (reply.outcome === R.SpecMismatch && reply.specOwner) {
    return [{ reason: R.SpecMismatch, message: `${where}: ${reply.message}` }];
  }
  // A published service nobody hosts, or whose hosts Tailscale has not approved, carries no traffic.
  const hosts = hostsReadiness(p.serviceName, reply.hosts);
  if (hosts && !hosts.ready) return [{ reason: hosts.reason, message: `${where}: ${hosts.message}` }];
  return [];
}

/** The first problem's reason, and up to three messages so one look at the condition says enough. */
export function summarize(problems: Problem[]): Problem {
  const shown = problems.slice(0, 3).map((p) => p.message);
  const more = problems.length > 3 ? `; and ${problems.length - 3} more` : '';
  return { reason: problems[0]?.reason ?? R.Unknown, message: shown.join('; ') + more };
}
