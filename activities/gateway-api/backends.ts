/**
 * The backendRefs of a route that point at our kinds (group gateway.tailscale.com, kind
 * TailscaleServices or TailscaleEndpoints), and whether a cross-namespace one is permitted by a
 * ReferenceGrant in the backend's namespace, as Gateway API requires. Pure functions.
 */
import {
  gatewayApiGroup,
  tailscaleBackendKinds,
  tailscaleGroup,
  type ReferenceGrantObject,
  type RouteKind,
  type RouteObject,
  type TailscaleBackendKind,
} from './types';

export interface TailscaleBackendRef {
  kind: TailscaleBackendKind;
  namespace: string;
  name: string;
  /** Where the reference is written in the route, e.g. spec.rules[0].backendRefs[1]. */
  field: string;
}

export function tailscaleBackendRefs(route: RouteObject): TailscaleBackendRef[] {
  const routeNamespace = route.metadata.namespace ?? '';
  const refs: TailscaleBackendRef[] = [];
  (route.spec.rules ?? []).forEach((rule, i) => {
    (rule.backendRefs ?? []).forEach((ref, j) => {
      if (ref.group !== tailscaleGroup) return;
      if (!(tailscaleBackendKinds as readonly (string | undefined)[]).includes(ref.kind)) return;
      refs.push({
        kind: ref.kind as TailscaleBackendKind,
        namespace: ref.namespace ?? routeNamespace,
        name: ref.name,
        field: `spec.rules[${i}].backendRefs[${j}]`,
      });
    });
  });
  return refs;
}

/** A route may use a backend in another namespace only if a ReferenceGrant there lets it. */
export function referenceGranted(
  grantsInBackendNamespace: readonly ReferenceGrantObject[],
  from: { kind: RouteKind; namespace: string },
  to: { kind: TailscaleBackendKind; name: string },
): boolean {
  return grantsInBackendNamespace.some(
    (grant) =>
      (grant.spec.from ?? []).some(
        (f) => f.group === gatewayApiGroup && f.kind === from.kind && f.namespace === from.namespace,
      ) &&
      (grant.spec.to ?? []).some(
        (t) => t.group === tailscaleGroup && t.kind === to.kind && (!t.name || t.name === to.name),
      ),
  );
}
