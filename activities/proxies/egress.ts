/**
 * Writes the egress part of a proxy set's `<statefulset>-proxies` ConfigMap: the `egress-services`
 * file (Tailscale's egressservices.Configs) and `hep-pings`, which containerboot reads from
 * TS_EGRESS_PROXIES_CONFIG_PATH. Each TailscaleEndpoints owns its `<namespace>-<name>` entry; several
 * share one set when they use the same TailscaleProxyGroup, so every write is a read-modify-write
 * conditional on the ConfigMap's resourceVersion (a 409 fails the activity, whose retry re-reads).
 */
import { ApplicationFailure } from '@temporalio/common';
import { egressSpecProblem } from '../../api/v1alpha1/egress';
import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import type { EgressStatus } from '../../api/v1alpha1/tailscale-endpoints';
import type { KubeObjects, ObjectRef, WireObject } from '../kubernetes/apply';
import {
  allocateMatchPorts,
  egressConfigKey,
  egressServiceConfig,
  egressServicesKey,
  hepPings,
  hepPingsKey,
  type EgressServiceConfigs,
  type MatchPortAllocations,
} from '../specs/egress-config';
import { desiredProxiesConfigMap, proxyNames, type ProxyPlacement } from '../specs/proxy-group';

/** Per entry: the egress port → matchPort allocations, so they survive every rewrite. */
export const matchPortsAnnotation = 'gateway.tailscale.com/egress-match-ports';

/** Server-side apply field manager of the egress keys; the serve config key has its own writer. */
export const egressFieldManager = 'tailscale-gateway-operator-egress';

/** The proxies ConfigMap sits next to the set's config Secrets, named after its StatefulSet. */
export function proxiesConfigMapRef(p: ProxyPlacement): ObjectRef {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: p.namespace,
    name: proxyNames.proxiesConfigMap(p),
  };
}

export interface EgressWrite {
  /** The proxy set: a TailscaleEndpoints with proxies of its own, or the TailscaleProxyGroup it uses. */
  set: ProxyDeployment;
  /** Where the set's proxies live (proxyPlacement). */
  placement: ProxyPlacement;
  /** The TailscaleEndpoints whose entry is written; no egress removes its entry. */
  endpoints: Pick<ProxyDeployment, 'namespace' | 'name' | 'egress' | 'ports' | 'connectionType'>;
  dnsSuffix: string;
}

export interface EgressOutcome {
  /** What the TailscaleEndpoints publishes as status.egress; undefined without egress. */
  status?: EgressStatus;
  /** Every matchPort of the set, for the pods' container ports. */
  matchPorts: number[];
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export const liveAllocations = (live: WireObject | undefined): MatchPortAllocations =>
  parseJson<MatchPortAllocations>(
    (live?.metadata.annotations as Record<string, string> | undefined)?.[matchPortsAnnotation],
    {},
  );

export const allMatchPorts = (allocations: MatchPortAllocations): number[] =>
  Object.values(allocations)
    .flatMap((ports) => Object.values(ports))
    .sort((a, b) => a - b);

/**
 * The live ConfigMap; when it is missing and something is to be written, an empty one is created
 * first (a create fails for all but one of racing writers), so every write of entries is conditional.
 */
async function readOrCreate(
  objects: KubeObjects,
  set: ProxyDeployment,
  p: ProxyPlacement,
  ref: ObjectRef,
  create: boolean,
): Promise<WireObject | undefined> {
  const live = await objects.read(ref);
  if (live || !create) return live;
  await objects.createIfAbsent(desiredProxiesConfigMap(set, p, {}, {}) as unknown as WireObject);
  return objects.read(ref);
}

/**
 * Brings the endpoints' entry in line with its spec, keeping every other entry and every allocation
 * as it is. Invalid egress fails with InvalidEgress (non-retryable), before anything is written.
 */
export async function applyEgressConfig(objects: KubeObjects, input: EgressWrite): Promise<EgressOutcome> {
  const { set, placement, endpoints } = input;
  const problem = egressSpecProblem(endpoints);
  if (problem) {
    throw ApplicationFailure.create({ type: 'InvalidEgress', nonRetryable: true, message: problem.message });
  }
  const ref = proxiesConfigMapRef(placement);
  const live = await readOrCreate(objects, set, placement, ref, Boolean(endpoints.egress));
  const key = egressConfigKey(endpoints.namespace, endpoints.name);
  const data = (live?.data ?? {}) as Record<string, string>;
  const configs: EgressServiceConfigs = { ...parseJson<EgressServiceConfigs>(data[egressServicesKey], {}) };
  const existing = liveAllocations(live);
  delete configs[key];
  const wanted: Record<string, number[]> = {};
  for (const [other, ports] of Object.entries(existing)) {
    if (other !== key && configs[other]) wanted[other] = Object.keys(ports).map(Number);
  }
  if (endpoints.egress) wanted[key] = endpoints.egress.ports.map((p) => p.port);
  const allocations = allocateMatchPorts(wanted, existing);
  let status: EgressStatus | undefined;
  if (endpoints.egress) {
    const matchPorts = allocations[key]!;
    configs[key] = egressServiceConfig({
      namespace: endpoints.namespace,
      name: endpoints.name,
      egress: endpoints.egress,
      matchPorts,
      dnsSuffix: input.dnsSuffix,
    });
    status = {
      configMap: ref.name,
      namespace: ref.namespace,
      ports: [...endpoints.egress.ports]
        .sort((a, b) => a.port - b.port)
        .map((p) => ({
          port: p.port,
          matchPort: matchPorts[String(p.port)]!,
          targetPort: p.targetPort ?? p.port,
        })),
    };
  }
  const sorted = Object.fromEntries(Object.entries(configs).sort(([a], [b]) => a.localeCompare(b)));
  const hasEntries = Object.keys(sorted).length > 0;
  if (!live) {
    // Nothing to carry and nothing written before: no ConfigMap (the pods mount it optionally).
    if (!hasEntries) return { matchPorts: [] };
    throw new Error(`ConfigMap ${ref.namespace}/${ref.name} was deleted while being written; retrying`);
  }
  const desired = desiredProxiesConfigMap(
    set,
    placement,
    hasEntries ? { [egressServicesKey]: JSON.stringify(sorted), [hepPingsKey]: hepPings(set.replicas) } : {},
    { [matchPortsAnnotation]: JSON.stringify(allocations) },
  ) as unknown as WireObject;
  // Keys to drop are absent from `desired`, which a subset check would call unchanged.
  const dropsKeys = !hasEntries && data[egressServicesKey] !== undefined;
  await objects.applyIfChanged(desired, dropsKeys ? undefined : live, {
    resourceVersion: live.metadata.resourceVersion,
  });
  return { ...(status ? { status } : {}), matchPorts: allMatchPorts(allocations) };
}

/**
 * A shared set's entries whose TailscaleEndpoints is gone or no longer carries egress through it (an
 * endpoints using a pool holds no finalizer, so nothing else removes them). Returns the matchPorts left.
 */
export async function pruneEgressEntries(
  objects: KubeObjects,
  set: ProxyDeployment,
  p: ProxyPlacement,
  keep: ReadonlySet<string>,
): Promise<number[]> {
  const ref = proxiesConfigMapRef(p);
  const live = await objects.read(ref);
  const allocations = liveAllocations(live);
  const data = (live?.data ?? {}) as Record<string, string>;
  const configs = parseJson<EgressServiceConfigs>(data[egressServicesKey], {});
  const stale = [...new Set([...Object.keys(allocations), ...Object.keys(configs)])].filter(
    (k) => !keep.has(k),
  );
  if (!live || !stale.length) return allMatchPorts(allocations);
  for (const key of stale) {
    delete allocations[key];
    delete configs[key];
  }
  const hasEntries = Object.keys(configs).length > 0;
  const desired = desiredProxiesConfigMap(
    set,
    p,
    hasEntries ? { [egressServicesKey]: JSON.stringify(configs), [hepPingsKey]: hepPings(set.replicas) } : {},
    { [matchPortsAnnotation]: JSON.stringify(allocations) },
  ) as unknown as WireObject;
  await objects.applyIfChanged(desired, undefined, { resourceVersion: live.metadata.resourceVersion });
  return allMatchPorts(allocations);
}
