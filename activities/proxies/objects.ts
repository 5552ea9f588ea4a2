import { ApplicationFailure } from '@temporalio/common';
import type { ProxyDeployment } from '../../api/v1alpha1/proxy';
import {
  desiredRole,
  desiredRoleBinding,
  desiredService,
  desiredServiceAccount,
  desiredStatefulSet,
  desiredStateSecret,
  ordinals,
  proxyLabelKeys,
  proxyNames,
  proxySelectorLabels,
  type ProxyPodSettings,
} from '../specs/proxy-group';
import { refOf, type KubeObjects, type WireObject } from '../kubernetes/apply';
import { toKubeActivityFailure } from '../kubernetes/errors';
import { assertOwnable, isOwnedBy } from './ownership';

export interface AppliedProxyObjects {
  /** `Kind/name` of every object written this time; empty when everything was already in place. */
  written: string[];
  /** Ordinals at or above spec replicas that still have Secrets: replicas to remove. */
  extraOrdinals: number[];
}

const asWire = (obj: object) => obj as WireObject;

export const selectorOf = (d: ProxyDeployment) =>
  Object.entries(proxySelectorLabels(d))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/**
 * Brings the proxy's Kubernetes objects in line with the parent: ServiceAccount, Role, RoleBinding and
 * pre-created state Secrets first (the pods need them), then the StatefulSet and its Service. Config
 * Secrets are not here: they hold auth keys (see configs.ts).
 */
export async function applyProxyObjects(
  objects: KubeObjects,
  d: ProxyDeployment,
  pod: ProxyPodSettings,
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
        desiredServiceAccount(d),
        desiredRole(d),
        desiredRoleBinding(d),
        ...ordinals(d.replicas).map((i) => desiredStateSecret(d, i)),
      ].map((obj) => apply(asWire(obj))),
    );
    await apply(asWire(desiredStatefulSet(d, pod)));
    const service = desiredService(d);
    if (service) await apply(asWire(service));
    else await deleteOwnedService(objects, d, written);
    return { written, extraOrdinals: await extraOrdinals(objects, d) };
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw toKubeActivityFailure(err, `applying the proxy objects of ${d.kind} ${d.namespace}/${d.name}`);
  }
}

async function deleteOwnedService(objects: KubeObjects, d: ProxyDeployment, written: string[]) {
  const ref = { apiVersion: 'v1', kind: 'Service', namespace: d.namespace, name: proxyNames.service(d) };
  const live = await objects.read(ref);
  if (live && isOwnedBy(live, d) && (await objects.deleteIfExists(ref)))
    written.push(`Service/${ref.name}-deleted`);
}

/** Ordinals whose state or config Secret exists although the parent no longer asks for them. */
export async function extraOrdinals(objects: KubeObjects, d: ProxyDeployment): Promise<number[]> {
  const secrets = await objects.list(
    { apiVersion: 'v1', kind: 'Secret', namespace: d.namespace },
    selectorOf(d),
  );
  const found = new Set<number>();
  for (const secret of secrets) {
    const ordinal = Number(secret.metadata.labels?.[proxyLabelKeys.replica]);
    if (Number.isInteger(ordinal) && ordinal >= d.replicas) found.add(ordinal);
  }
  return [...found].sort((a, b) => a - b);
}
