import { ApplicationFailure } from '@temporalio/common';
import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import {
  emptyProxiesConfigMap,
  desiredRole,
  desiredRoleBinding,
  desiredService,
  desiredServiceAccount,
  desiredStatefulSet,
  desiredStateSecret,
  ordinals,
  proxyLabelKeys,
  proxyNames,
  proxyOwnerLabels,
  proxySelectorLabels,
  type ProxyPlacement,
  type ProxyPodSettings,
} from '../specs/proxy-group';
import { refOf, type KubeObjects, type WireObject } from '../kubernetes/apply';
import { toKubeActivityFailure } from '../kubernetes/errors';
import type { EgressStatus } from '../../api/v1alpha1/tailscale-endpoints';
import {
  allMatchPorts,
  applyEgressConfig,
  liveAllocations,
  proxiesConfigMapRef,
  pruneEgressEntries,
  type EgressOutcome,
} from './egress';
import { assertOwnable, isOwnedBy } from './ownership';

export interface AppliedProxyObjects {
  /** `Kind/name` of every object written this time; empty when everything was already in place. */
  written: string[];
  /** Ordinals at or above spec replicas that still have Secrets: replicas to remove. */
  extraOrdinals: number[];
  /** Where a TailscaleEndpoints' spec.egress is carried (its status.egress). */
  egress?: EgressStatus;
}

export interface EgressDeps {
  /** Writes with the egress field manager (activities/proxies/egress.ts). */
  objects: KubeObjects;
  /** The tailnet's MagicDNS suffix; empty when not known yet. */
  dnsSuffix: string;
  /** For a TailscaleProxyGroup: the egress keys of the TailscaleEndpoints that use it with egress. */
  users?: () => Promise<ReadonlySet<string>>;
}

const asWire = (obj: object) => obj as WireObject;

const selectorText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** The parent's objects, of any incarnation (kind, namespace and name). */
export const selectorOf = (d: ProxyDeployment) => selectorText(proxySelectorLabels(d));

/** The objects of exactly this parent (its uid too): what its deletion removes. */
export const ownedSelectorOf = (d: ProxyDeployment) => selectorText(proxyOwnerLabels(d));

/**
 * Brings the proxy's Kubernetes objects in line with the parent: ServiceAccount, Role, RoleBinding and
 * pre-created state Secrets and the proxies ConfigMap first (the pods need them), then the StatefulSet and its Service. Config
 * Secrets are not here: they hold auth keys (see configs.ts).
 */
export async function applyProxyObjects(
  objects: KubeObjects,
  d: ProxyDeployment,
  p: ProxyPlacement,
  pod: ProxyPodSettings,
  egress: EgressDeps,
): Promise<AppliedProxyObjects> {
  const written: string[] = [];
  const apply = async (desired: WireObject) => {
    const live = await objects.read(refOf(desired));
    assertOwnable(live, d);
    const { changed } = await objects.applyIfChanged(desired, live);
    if (changed) written.push(`${desired.kind}/${desired.metadata.name}`);
  };
  try {
    await Promise.all(
      [
        desiredServiceAccount(d, p),
        desiredRole(d, p),
        desiredRoleBinding(d, p),
        emptyProxiesConfigMap(d, p),
        ...ordinals(d.replicas).map((i) => desiredStateSecret(d, p, i)),
      ].map((obj) => apply(asWire(obj))),
    );
    // The egress config first: the pods expose the matchPorts it allocates.
    const carried = await carryEgress(egress, d, p);
    await apply(asWire(desiredStatefulSet(d, p, pod, carried.matchPorts)));
    const service = desiredService(d, p);
    if (service) await apply(asWire(service));
    else await deleteOwnedService(objects, d, p, written);
    return {
      written,
      extraOrdinals: await extraOrdinals(objects, d, p),
      ...(carried.status ? { egress: carried.status } : {}),
    };
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw toKubeActivityFailure(err, `applying the proxy objects of ${d.kind} ${d.namespace}/${d.name}`);
  }
}

/**
 * A TailscaleEndpoints writes its own entry; a TailscaleProxyGroup's entries are written by the
 * TailscaleEndpoints that use it, so it only exposes the ports they were given.
 */
async function carryEgress(
  egress: EgressDeps,
  d: ProxyDeployment,
  p: ProxyPlacement,
): Promise<EgressOutcome> {
  if (d.kind === 'TailscaleEndpoints') {
    return applyEgressConfig(egress.objects, {
      set: d,
      placement: p,
      endpoints: d,
      dnsSuffix: egress.dnsSuffix,
    });
  }
  if (egress.users)
    return { matchPorts: await pruneEgressEntries(egress.objects, d, p, await egress.users()) };
  return { matchPorts: allMatchPorts(liveAllocations(await egress.objects.read(proxiesConfigMapRef(p)))) };
}

async function deleteOwnedService(
  objects: KubeObjects,
  d: ProxyDeployment,
  p: ProxyPlacement,
  written: string[],
) {
  const ref = { apiVersion: 'v1', kind: 'Service', namespace: p.namespace, name: proxyNames.service(p) };
  const live = await objects.read(ref);
  if (live && isOwnedBy(live, d) && (await objects.deleteIfExists(ref)))
    written.push(`Service/${ref.name}-deleted`);
}

/** Ordinals whose state or config Secret exists although the parent no longer asks for them. */
export async function extraOrdinals(
  objects: KubeObjects,
  d: ProxyDeployment,
  p: ProxyPlacement,
): Promise<number[]> {
  const secrets = await objects.list(
    { apiVersion: 'v1', kind: 'Secret', namespace: p.namespace },
    selectorOf(d),
  );
  const found = new Set<number>();
  for (const secret of secrets) {
    const ordinal = Number(secret.metadata.labels?.[proxyLabelKeys.replica]);
    if (Number.isInteger(ordinal) && ordinal >= d.replicas) found.add(ordinal);
  }
  return [...found].sort((a, b) => a - b);
}
