import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubeErrorMessage } from '../activities/kubernetes/errors';
import { ConfigError, dnsLabelPattern, type OperatorConfig } from './config';

/**
 * Who this install is in VIP service registries and auth-key descriptions shared with other installs
 * (docs/architecture.md §4): `<clusterId>/<operatorId>`, unique per install by default.
 */
export interface OperatorIdentity {
  operatorId: string;
  clusterId: string;
  /**
   * Names the install itself (cluster, namespace, release), recorded beside the identity in registry
   * entries: another live install writing under the same identity has a different one, and is refused.
   * Unset when the process does not know its install (run outside the chart): no collision check.
   */
  instance?: string;
}

/** Where each part came from, for the start-up log line. */
export interface ResolvedIdentity extends OperatorIdentity {
  derived: { operatorId: boolean; clusterId: boolean };
}

/** Without OPERATOR_ID, OPERATOR_NAMESPACE or RELEASE_NAME (a process started by hand). */
export const fallbackOperatorId = 'operator';

const clusterNamespace = 'kube-system';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The cluster id derived from the kube-system Namespace's UID, which lives as long as the cluster. */
export function clusterIdFromUid(kubeSystemUid: string): string {
  return sha256(kubeSystemUid).slice(0, 12);
}

/**
 * `<namespace>-<release>-<hash>`, a DNS label. The hash of the pair keeps `a-b`/`c` and `a`/`b-c` apart;
 * a long pair is shortened before the hash.
 */
export function operatorIdOf(namespace: string, release: string): string {
  const readable = `${namespace}-${release}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 56)
    .replace(/^-+|-+$/g, '');
  return `${readable || 'operator'}-${sha256(`${namespace}/${release}`).slice(0, 6)}`;
}

/** The install's instance id: stable across restarts and upgrades, different for any other install. */
export function installInstanceOf(kubeSystemUid: string, namespace: string, release: string): string {
  return sha256(`${kubeSystemUid}/${namespace}/${release}`).slice(0, 16);
}

/** The operator id without any API call (the watchers only log it). */
export function operatorIdFromConfig(
  config: Pick<OperatorConfig, 'operatorId' | 'operatorNamespace' | 'releaseName'>,
): string {
  if (config.operatorId) return config.operatorId;
  if (config.operatorNamespace && config.releaseName) {
    return operatorIdOf(config.operatorNamespace, config.releaseName);
  }
  return fallbackOperatorId;
}

/**
 * The identity at process start: explicit OPERATOR_ID and CLUSTER_ID win; otherwise the operator id
 * comes from the install's namespace and release, and the cluster id from the kube-system UID (one
 * `get namespaces`, which the worker's RBAC already has).
 */
export async function resolveIdentity(
  config: Pick<OperatorConfig, 'operatorId' | 'clusterId' | 'operatorNamespace' | 'releaseName'>,
  kubeSystemUid: () => Promise<string>,
): Promise<ResolvedIdentity> {
  const install =
    config.operatorNamespace && config.releaseName
      ? { namespace: config.operatorNamespace, release: config.releaseName }
      : undefined;
  const uid = !config.clusterId || install ? await kubeSystemUid() : undefined;
  const clusterId = config.clusterId ?? clusterIdFromUid(uid ?? '');
  const operatorId = operatorIdFromConfig(config);
  for (const [name, value] of [
    ['cluster id', clusterId],
    ['operator id', operatorId],
  ] as const) {
    if (!dnsLabelPattern.test(value)) throw new ConfigError(`derived ${name} ${value} is not a DNS label`);
  }
  return {
    clusterId,
    operatorId,
    ...(install && uid ? { instance: installInstanceOf(uid, install.namespace, install.release) } : {}),
    derived: { operatorId: !config.operatorId && Boolean(install), clusterId: !config.clusterId },
  };
}

/** Reads the kube-system Namespace's UID; a clear start-up error when it cannot. */
export function kubeSystemUidReader(kc: KubeConfig): () => Promise<string> {
  return async () => {
    try {
      const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: clusterNamespace });
      if (!ns.metadata?.uid) throw new Error('it has no UID');
      return ns.metadata.uid;
    } catch (err) {
      throw new ConfigError(
        `cannot read Namespace ${clusterNamespace} to derive this cluster's id ` +
          `(${kubeErrorMessage(err)}): grant get on namespaces, or set CLUSTER_ID`,
      );
    }
  };
}

/** `<clusterID>/<operatorID>`: this operator's key in a VIP service registry. */
export const consumerKeyOf = (identity: OperatorIdentity) => `${identity.clusterId}/${identity.operatorId}`;
