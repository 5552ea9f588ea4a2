/**
 * Maps the custom resources the workflows publish into the index model. Status is the source of truth
 * for what exists (devices, VIP addresses, readiness); spec only for what the user asked (tailnet,
 * ports, route generation, policy rules).
 *
 * Endpoint addresses: a local proxy is addressed by its pod's stable DNS name under the StatefulSet's
 * headless Service (`<pod>.<service>.<ns>.svc.<clusterDomain>`), so the cluster stays valid when the pod
 * is rescheduled and gets a new IP; the VIP service's own tailnet addresses are the remote fallback.
 */
import type { Condition } from '../api/common';
import { isReady } from '../api/conditions';
import type { TailscaleEndpoints, TailscaleProxyGroup, TailscaleServices } from '../api/v1alpha1';
import type { DeviceStatus, StatefulSetStatus } from '../api/v1alpha1/proxy';
import type { EgressStatus } from '../api/v1alpha1/tailscale-endpoints';
import type { TailscaleGateway } from '../api/v1alpha1/tailscale-gateway';
import { routePolicyControllerName, routePolicyProblems } from '../api/v1alpha1/route-policy-validation';
import type { TailscaleRoutePolicy } from '../api/v1alpha1/tailscale-route-policy';
import type {
  BackendEndpoint,
  GatewayBinding,
  IndexContent,
  PolicyAction,
  PolicyRule,
  RoutePolicy,
  TailscaleBackend,
} from './backend-index';
import { defaultPathPrefix, defaultRewritePrefix } from './route-generation';
import { defaultVipServiceName, vipServiceLabel } from '../api/vip-service-name';

export interface WatchedResources {
  services: readonly TailscaleServices[];
  endpoints: readonly TailscaleEndpoints[];
  proxyGroups: readonly TailscaleProxyGroup[];
  gateways: readonly TailscaleGateway[];
  policies: readonly TailscaleRoutePolicy[];
}

export interface MappingOptions {
  clusterDomain: string;
}

const key = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;

export function indexContentFrom(resources: WatchedResources, opts: MappingOptions): IndexContent {
  const endpointsByKey = new Map(
    resources.endpoints.map((e) => [key(e.metadata.namespace, e.metadata.name), e]),
  );
  const groupsByKey = new Map(
    resources.proxyGroups.map((g) => [key(g.metadata.namespace, g.metadata.name), g]),
  );
  const proxies = (e: TailscaleEndpoints) => proxiesOf(e, groupsByKey);
  return {
    backends: [
      ...resources.services.map((s) => backendFromServices(s, endpointsByKey, proxies, opts)),
      ...resources.endpoints.map((e) => backendFromEndpoints(e, proxies(e), opts)),
    ],
    gateways: resources.gateways.map(bindingFromGateway),
    policies: resources.policies.flatMap((p) => applicablePolicy(p) ?? []),
  };
}

interface Proxies {
  devices: readonly DeviceStatus[];
  statefulSets: readonly StatefulSetStatus[];
  namespace: string;
}

function proxiesOf(e: TailscaleEndpoints, groups: Map<string, TailscaleProxyGroup>): Proxies {
  const namespace = e.metadata.namespace ?? 'default';
  if (e.spec.proxyGroup) {
    const group = groups.get(key(namespace, e.spec.proxyGroup));
    return {
      devices: group?.status?.devices ?? [],
      statefulSets: group?.status?.statefulSets ?? [],
      namespace,
    };
  }
  return { devices: e.status?.devices ?? [], statefulSets: e.status?.statefulSets ?? [], namespace };
}

/** The first port of `tcp:<port>` or `tcp:<first>-<last>`; VIP services are TCP only. */
export function firstVipPort(ports: readonly string[]): number | undefined {
  for (const p of ports) {
    const m = /^tcp:(\d+)/.exec(p);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * A proxy is healthy by its own device: a sibling's failure makes the object not Ready but must not demote
 * the replicas still online. The object's readiness decides only for a device whose state is not known.
 */
function localEndpoints(
  proxies: Proxies,
  port: number,
  ready: boolean,
  opts: MappingOptions,
): BackendEndpoint[] {
  const statefulSetOf = (pod: string) => proxies.statefulSets.find((s) => pod.startsWith(`${s.name}-`));
  const out: BackendEndpoint[] = [];
  for (const device of proxies.devices) {
    const statefulSet = statefulSetOf(device.statefulSetPod);
    if (!statefulSet?.service) continue;
    // The operator namespace, as status says; a status written before placement has none (the parent's).
    const namespace = statefulSet.namespace ?? proxies.namespace;
    out.push({
      address: `${device.statefulSetPod}.${statefulSet.service}.${namespace}.svc.${opts.clusterDomain}`,
      port,
      locality: 'local',
      healthy: device.connected !== false && (device.online ?? ready),
      source: device.hostname,
    });
  }
  return out;
}

export function backendFromServices(
  svc: TailscaleServices,
  endpointsByKey: ReadonlyMap<string, TailscaleEndpoints>,
  proxies: (e: TailscaleEndpoints) => Proxies,
  opts: MappingOptions,
): TailscaleBackend {
  const namespace = svc.metadata.namespace ?? 'default';
  const ready = isReady(svc.status?.conditions);
  const port = firstVipPort(svc.spec.vipService.ports) ?? 80;
  const vipName =
    svc.status?.vipService?.name ?? svc.spec.vipService.name ?? defaultVipServiceName(svc.metadata.name);
  const local = (svc.status?.selectedEndpoints ?? []).flatMap((selected) => {
    const e = endpointsByKey.get(key(namespace, selected.name));
    if (!e) return [];
    const proxyPort = e.spec.ports?.find((p) => p.port === port)?.port ?? port;
    return localEndpoints(proxies(e), proxyPort, selected.ready, opts);
  });
  const remote: BackendEndpoint[] = (svc.status?.vipService?.addresses ?? [])
    .filter((a) => !a.includes(':'))
    .map((address) => ({ address, port, locality: 'remote', healthy: ready, source: vipName }));
  return {
    kind: 'TailscaleServices',
    namespace,
    name: svc.metadata.name,
    tailnet: svc.spec.tailnet,
    serviceName: vipServiceLabel(vipName),
    labels: svc.metadata.labels ?? {},
    ready,
    endpoints: [...local, ...remote],
  };
}

/**
 * The egress port a route reaches: EG's PostClusterModify does not say which backendRef port the
 * route names, so it is the egress port that is also spec.ports[0], else the lowest egress port.
 */
export function routedEgressPort(e: TailscaleEndpoints): EgressStatus['ports'][number] | undefined {
  const ports = e.status?.egress?.ports ?? [];
  if (!e.spec.egress || !ports.length) return undefined;
  const first = e.spec.ports?.[0]?.port;
  return ports.find((p) => p.port === first) ?? [...ports].sort((a, b) => a.port - b.port)[0];
}

/**
 * Egress: each Ready proxy pod forwards `<pod IP>:<matchPort>` to the tailnet target
 * (activities/proxies/egress.ts), so those are the endpoints. A device's tailnet address forwards
 * nothing to the target, so there is no remote tier. Health as for the other local endpoints.
 */
function egressEndpoints(proxies: Proxies, matchPort: number, ready: boolean): BackendEndpoint[] {
  return proxies.devices.flatMap((device) =>
    device.podIP
      ? [
          {
            address: device.podIP,
            port: matchPort,
            locality: 'local' as const,
            healthy: device.connected !== false && (device.online ?? ready),
            source: device.hostname,
          },
        ]
      : [],
  );
}

export function backendFromEndpoints(
  e: TailscaleEndpoints,
  proxies: Proxies,
  opts: MappingOptions,
): TailscaleBackend {
  const ready = isReady(e.status?.conditions);
  const base = {
    kind: 'TailscaleEndpoints' as const,
    namespace: e.metadata.namespace ?? 'default',
    name: e.metadata.name,
    tailnet: e.spec.tailnet,
    serviceName: e.metadata.name,
    labels: e.metadata.labels ?? {},
    ready,
  };
  const egress = routedEgressPort(e);
  if (egress) return { ...base, endpoints: egressEndpoints(proxies, egress.matchPort, ready) };
  const port = e.spec.ports?.[0]?.port ?? 80;
  const remote: BackendEndpoint[] = proxies.devices.flatMap((d) => {
    const ip = (d.tailscaleIPs ?? (d.tailscaleIP ? [d.tailscaleIP] : [])).find((a) => !a.includes(':'));
    if (!ip) return [];
    return [
      { address: ip, port, locality: 'remote' as const, healthy: d.online === true, source: d.hostname },
    ];
  });
  return { ...base, endpoints: [...localEndpoints(proxies, port, ready, opts), ...remote] };
}

export function bindingFromGateway(gw: TailscaleGateway): GatewayBinding {
  const namespace = gw.metadata.namespace ?? 'default';
  const generation = gw.spec.routeGeneration;
  return {
    namespace,
    name: gw.metadata.name,
    gateway: { namespace: gw.spec.gatewayRef.namespace ?? namespace, name: gw.spec.gatewayRef.name },
    tailnets: gw.spec.tailnets ?? [],
    routeGeneration:
      generation && generation.enabled !== false
        ? {
            pathPrefix: generation.pathPrefix ?? defaultPathPrefix,
            rewritePrefix: generation.rewritePrefix ?? defaultRewritePrefix,
            serviceSelector: generation.serviceSelector,
          }
        : undefined,
    routes: (gw.status?.routes ?? []).map((r) => ({
      route: { kind: r.kind, namespace: r.namespace, name: r.name },
      // The workflow lists refused references too (ready: false). One in another namespace is used only
      // once it is ready, which it never is without a ReferenceGrant (activities/gateway.ts).
      backends: (r.backends ?? []).flatMap((b) => {
        const namespace = b.namespace ?? r.namespace;
        return namespace === r.namespace || b.ready === true
          ? [{ kind: b.kind, namespace, name: b.name }]
          : [];
      }),
    })),
  };
}

/**
 * Which TailscaleRoutePolicies, and which of their targets, the hooks may apply. An invalid policy
 * (api/v1alpha1/route-policy-validation.ts, the same check the reconciler reports as Accepted=False)
 * never reaches xDS, whatever its status says: one bad regex or header value would get a shared
 * Gateway's whole route configuration rejected by Envoy. A target our controller has refused
 * (Accepted=False at the policy's current generation: conflicted, missing, invalid) is dropped too, so
 * the hooks agree with the status users see. A policy not judged yet is applied when valid.
 */
export function applicablePolicy(policy: TailscaleRoutePolicy): RoutePolicy | undefined {
  if (routePolicyProblems(policy.spec).length) return undefined;
  const mapped = policyFromResource(policy);
  const refused = (condition: Condition | undefined) =>
    condition?.status === 'False' &&
    (condition.observedGeneration === undefined ||
      condition.observedGeneration === policy.metadata.generation);
  const ours = (policy.status?.ancestors ?? []).filter((a) => a.controllerName === routePolicyControllerName);
  const targets = mapped.targets.filter(
    (t) =>
      !ours.some(
        (a) =>
          a.ancestorRef.kind === t.kind &&
          a.ancestorRef.name === t.name &&
          (a.ancestorRef.namespace ?? t.namespace) === t.namespace &&
          refused(a.conditions?.find((c) => c.type === 'Accepted')),
      ),
  );
  return { ...mapped, targets };
}

export function policyFromResource(policy: TailscaleRoutePolicy): RoutePolicy {
  const namespace = policy.metadata.namespace ?? 'default';
  return {
    namespace,
    name: policy.metadata.name,
    targets: policy.spec.targetRefs.map((t) => ({ kind: t.kind, namespace, name: t.name })),
    rules: policy.spec.rules.map((rule): PolicyRule => ({
      matches: rule.matches ?? [],
      action: rule.action ? actionOf(rule.action) : undefined,
      requestHeaderModifier: rule.requestHeaderModifier,
      responseHeaderModifier: rule.responseHeaderModifier,
    })),
  };
}

type RuleAction = NonNullable<TailscaleRoutePolicy['spec']['rules'][number]['action']>;

function actionOf(action: RuleAction): PolicyAction | undefined {
  switch (action.type) {
    case 'Route':
      return action.route
        ? { type: 'Route', backend: action.route.backendRef, rewritePrefix: action.route.rewritePrefix }
        : undefined;
    case 'Redirect':
      return {
        type: 'Redirect',
        ...action.redirect,
        statusCode: (action.redirect?.statusCode ?? 302) as 301 | 302 | 303 | 307 | 308,
      };
    case 'Deny':
      return { type: 'Deny', statusCode: action.deny?.statusCode ?? 403, body: action.deny?.body };
  }
}
