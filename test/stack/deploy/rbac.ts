import type { KubeConfig } from '@kubernetes/client-node';
import type { RenderedObject } from '../../../tools/helm';
import { kubeRequest } from './kube-requests';

export type Component = 'worker' | 'watchers' | 'extension';

const tsgw = 'gateway.tailscale.com';
const gwapi = 'gateway.networking.k8s.io';

/**
 * The least privilege of each process, as `<group>/<resource>: <verb>` ("" is the core group). Derived
 * from the API calls in activities/ (worker), watchers/ and extension/index-feed.ts (in-cluster discovery
 * GETs are allowed to every authenticated user and need nothing here). Adding a verb to the
 * chart without adding it here fails the RBAC test; so does a verb here the chart no longer grants.
 */
export const leastPrivilege: Record<Component, Record<string, string[]>> = {
  worker: {
    // patchStatus (and the route policy's status writer) reads the object, then PUTs /status.
    [`${tsgw}/tailscaletailnets`]: ['get'],
    [`${tsgw}/tailscaletailnets/status`]: ['update'],
    // Finalizers are JSON patches; selection lists the namespace's services and endpoints.
    [`${tsgw}/tailscaleservices`]: ['get', 'list', 'patch'],
    [`${tsgw}/tailscaleservices/status`]: ['update'],
    // Auto-provisioned endpoints are created and deleted by the services workflow.
    [`${tsgw}/tailscaleendpoints`]: ['get', 'list', 'create', 'patch', 'delete'],
    [`${tsgw}/tailscaleendpoints/status`]: ['update'],
    [`${tsgw}/tailscaleproxygroups`]: ['get', 'patch'],
    [`${tsgw}/tailscaleproxygroups/status`]: ['update'],
    [`${tsgw}/tailscalegateways`]: ['get', 'patch'],
    [`${tsgw}/tailscalegateways/status`]: ['update'],
    // Conflicts between policies are judged over the namespace's list.
    [`${tsgw}/tailscaleroutepolicies`]: ['get', 'list'],
    [`${tsgw}/tailscaleroutepolicies/status`]: ['update'],
    // Proxy objects carry blockOwnerDeletion ownerReferences to these parents, which clusters running the
    // OwnerReferencesPermissionEnforcement admission plugin only allow with update on <parent>/finalizers.
    [`${tsgw}/tailscaleendpoints/finalizers`]: ['update'],
    [`${tsgw}/tailscaleproxygroups/finalizers`]: ['update'],
    // A tailnet's OAuth Secret, wherever it is (proxy Secrets: operatorNamespacePrivilege); the Service a
    // TailscaleServices forwards to; Envoy Gateway's data-plane Service of a Gateway whose publications a
    // TailscaleProxyGroup hosts (found by its labels, wherever Envoy Gateway runs it).
    ['/secrets']: ['get'],
    ['/services']: ['get', 'list'],
    // Events about our objects: created once, then their series count is patched (read first).
    ['events.k8s.io/events']: ['get', 'create', 'patch'],
    // A TailscaleGateway's Gateway, its routes (listeners' allowedRoutes namespace selectors) and
    // ReferenceGrants; a TailscaleRoutePolicy's targets (Gateway, HTTPRoute, GRPCRoute).
    ['/namespaces']: ['get', 'list'],
    // Proxy pods get their settings from the class an object names (or the default class), once the
    // class's namespaceSelector admits the object's namespace (read by name).
    [`${tsgw}/tailscaleproxyclasses`]: ['get', 'list'],
    [`${gwapi}/gateways`]: ['get'],
    [`${gwapi}/httproutes`]: ['get', 'list'],
    [`${gwapi}/grpcroutes`]: ['get', 'list'],
    [`${gwapi}/tcproutes`]: ['list'],
    [`${gwapi}/tlsroutes`]: ['list'],
    [`${gwapi}/udproutes`]: ['list'],
    [`${gwapi}/referencegrants`]: ['list'],
  },
  watchers: {
    [`${tsgw}/tailscaletailnets`]: ['list', 'watch'],
    [`${tsgw}/tailscaleservices`]: ['list', 'watch'],
    [`${tsgw}/tailscaleendpoints`]: ['list', 'watch'],
    [`${tsgw}/tailscaleproxygroups`]: ['list', 'watch'],
    [`${tsgw}/tailscalegateways`]: ['list', 'watch'],
    [`${tsgw}/tailscaleroutepolicies`]: ['list', 'watch'],
    // Versions only (a changed OAuth or proxy Secret re-runs the workflows that depend on it).
    ['/secrets']: ['list', 'watch'],
    // The Services TailscaleServices forward to: a change re-runs them.
    ['/services']: ['list', 'watch'],
    // A route or Gateway change re-runs the TailscaleGateways and TailscaleRoutePolicies that depend on it.
    [`${gwapi}/gateways`]: ['list', 'watch'],
    [`${gwapi}/httproutes`]: ['list', 'watch'],
    [`${gwapi}/grpcroutes`]: ['list', 'watch'],
    [`${gwapi}/tcproutes`]: ['list', 'watch'],
    [`${gwapi}/tlsroutes`]: ['list', 'watch'],
    [`${gwapi}/udproutes`]: ['list', 'watch'],
  },
  extension: {
    [`${tsgw}/tailscaleservices`]: ['list', 'watch'],
    [`${tsgw}/tailscaleendpoints`]: ['list', 'watch'],
    [`${tsgw}/tailscaleproxygroups`]: ['list', 'watch'],
    [`${tsgw}/tailscalegateways`]: ['list', 'watch'],
    [`${tsgw}/tailscaleroutepolicies`]: ['list', 'watch'],
  },
};

/**
 * Granted by a Role in the release namespace only, where the proxies live (OPERATOR_NAMESPACE): the
 * worker writes proxy objects nowhere else.
 */
export const operatorNamespacePrivilege: Record<'worker' | 'watchers', Record<string, string[]>> = {
  worker: {
    // Proxy objects: read before apply, server-side apply, delete on cleanup. An apply that creates the
    // object is authorized as create as well as patch. Config Secrets are also edited (update).
    ['/secrets']: ['get', 'list', 'create', 'patch', 'update', 'delete'],
    ['/services']: ['get', 'create', 'patch', 'delete'],
    // The proxies ConfigMap (<statefulset>-proxies): pre-created by apply, egress keys by apply, the serve
    // config edited per service (update).
    ['/configmaps']: ['get', 'create', 'patch', 'update', 'delete'],
    ['/serviceaccounts']: ['get', 'create', 'patch', 'delete'],
    ['apps/statefulsets']: ['get', 'create', 'patch', 'delete'],
    ['rbac.authorization.k8s.io/roles']: ['get', 'create', 'patch', 'delete'],
    ['rbac.authorization.k8s.io/rolebindings']: ['get', 'create', 'patch', 'delete'],
    // Device observation lists the proxy pods.
    ['/pods']: ['list'],
    // Not called: the proxies' Role grants these, and RBAC lets the worker grant only what it holds.
    ['/events']: ['get', 'create', 'patch'],
  },
  // Its proxy StatefulSets' ready counts (watchers/proxy-kinds.ts). Secrets only with watch.namespaces
  // (otherwise the watchers' ClusterRole covers them): see operatorNamespaceSecrets.
  watchers: { ['apps/statefulsets']: ['list', 'watch'] },
};

/** The watchers' Role in the release namespace adds these with watch.namespaces set. */
export const operatorNamespaceSecrets: Record<string, string[]> = { ['/secrets']: ['list', 'watch'] };

/** worker.removeLegacyProxies: find and delete (never create or patch) the proxies of older versions. */
export const legacyProxiesPrivilege: Record<string, string[]> = {
  ['/secrets']: ['get', 'delete'],
  ['/services']: ['get', 'delete'],
  ['/serviceaccounts']: ['get', 'delete'],
  ['apps/statefulsets']: ['get', 'delete'],
  ['rbac.authorization.k8s.io/roles']: ['get', 'delete'],
  ['rbac.authorization.k8s.io/rolebindings']: ['get', 'delete'],
};

/** The chart names these objects `<component>-legacy-proxies`; they are not the component's table. */
export const isLegacyProxiesObject = (o: RenderedObject) => o.metadata.name.endsWith('-legacy-proxies');

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** A ClusterRole's rules flattened into the same `<group>/<resource>` → verbs shape. */
export function grantsOf(role: RenderedObject): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const rule of (role.rules ?? []) as PolicyRule[]) {
    if (rule.resourceNames?.length || rule.nonResourceURLs?.length) {
      throw new Error(`${role.metadata.name}: resourceNames/nonResourceURLs are not expected`);
    }
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const key = `${group}/${resource}`;
        out[key] = [...new Set([...(out[key] ?? []), ...rule.verbs])];
      }
    }
  }
  return out;
}

export const sorted = (grants: Record<string, string[]>) =>
  Object.fromEntries(
    Object.entries(grants)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, [...v].sort()]),
  );

export interface AccessQuery {
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
  namespace?: string;
  /** One object by name (rules with resourceNames). */
  name?: string;
}

/** SubjectAccessReview on the real API server: would this ServiceAccount be allowed? */
export async function canI(
  kc: KubeConfig,
  serviceAccount: { namespace: string; name: string },
  query: AccessQuery,
): Promise<boolean> {
  const res = await kubeRequest(kc, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`,
      groups: [
        'system:serviceaccounts',
        `system:serviceaccounts:${serviceAccount.namespace}`,
        'system:authenticated',
      ],
      resourceAttributes: query,
    },
  });
  if (res.status !== 201)
    throw new Error(`SubjectAccessReview: HTTP ${res.status} ${String(res.body.message)}`);
  return (res.body.status as { allowed?: boolean } | undefined)?.allowed === true;
}

export const splitKey = (key: string) => {
  const [group = '', rest = ''] = key.split(/\/(.*)/s);
  const [resource = '', subresource] = rest.split('/');
  return { group, resource, subresource };
};
