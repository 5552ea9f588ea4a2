import type { V1Secret } from '@kubernetes/client-node';
import type { ProxyParentKind } from '../../api/v1alpha1/proxy';
import {
  parentKindLabel,
  proxyLabelKeys,
  proxyNames,
  proxyPlacement,
  type ProxyPlacement,
} from '../../activities/specs/proxy-group';
import { tailscaledConfigKey } from '../../activities/specs/tailscaled-config';
import { stackInfo } from './stack';

/** Marks a config Secret made by hand (no proxy simulator runs its replica): test/support/stand-in-hosts.ts plays it. */
export const standInLabel = 'test.tailscale-gateway.com/stand-in';

/**
 * Where the test operators put the proxies of a parent: the stack's operator namespace, under the
 * name proxyPlacement gives it. `operatorNamespace` for an operator started with another one.
 */
export function proxiesOf(
  namespace: string,
  name: string,
  kind: ProxyParentKind = 'TailscaleEndpoints',
  operatorNamespace = stackInfo().operatorNamespace,
): ProxyPlacement {
  return proxyPlacement({ kind, namespace, name }, operatorNamespace);
}

/** The config Secret of one replica of a parent's proxies: `{ namespace, name }`. */
export function configSecretOf(p: ProxyPlacement, ordinal: number) {
  return { namespace: p.namespace, name: proxyNames.configSecret(p, ordinal) };
}

/** The state Secret of one replica of a parent's proxies: `{ namespace, name }`. */
export function stateSecretOf(p: ProxyPlacement, ordinal: number) {
  return { namespace: p.namespace, name: proxyNames.stateSecret(p, ordinal) };
}

/**
 * A replica's config Secret as the endpoints workflow leaves it, made by hand for tests whose endpoints
 * have no workflow of their own: in the operator namespace, with the labels that name its parent.
 */
export function handMadeConfigSecret(
  parent: { kind?: ProxyParentKind; namespace: string; name: string },
  ordinal: number,
  config: Record<string, unknown>,
  operatorNamespace?: string,
): V1Secret {
  const kind = parent.kind ?? 'TailscaleEndpoints';
  const p = proxiesOf(parent.namespace, parent.name, kind, operatorNamespace);
  return {
    metadata: {
      name: proxyNames.configSecret(p, ordinal),
      namespace: p.namespace,
      labels: {
        [proxyLabelKeys.parentKind]: parentKindLabel(kind),
        [proxyLabelKeys.parentNamespace]: parent.namespace,
        [proxyLabelKeys.parentName]: parent.name,
        [proxyLabelKeys.secretType]: 'config',
        [standInLabel]: 'true',
      },
    },
    stringData: { [tailscaledConfigKey]: JSON.stringify(config) },
  };
}
