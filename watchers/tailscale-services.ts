import { createHash } from 'node:crypto';
import { resourceOf } from '../api/crd';
import { selectorMatches } from '../api/label-selector';
import {
  provisionedEndpointsName,
  tailscaleServicesCrd,
  type TailscaleServices,
} from '../api/v1alpha1/tailscale-services';
import type { TailscaleEndpoints } from '../api/v1alpha1/tailscale-endpoints';
import { servicesWorkflowId } from '../workflows/ids';
import { tailscaleTailnetKey, vipServiceNameKey } from '../workflows/search-attributes';
import type { WatchedKind } from './watched-kind';
import { defaultVipServiceName } from '../api/vip-service-name';

export const tailscaleServicesWatch: WatchedKind<TailscaleServices> = {
  resource: resourceOf(tailscaleServicesCrd),
  workflowType: 'tailscaleServicesWorkflow',
  workflowId: (svc) => servicesWorkflowId(svc.metadata.namespace ?? '', svc.metadata.name),
  extraSearchAttributes: (svc) => [
    { key: tailscaleTailnetKey, value: svc.spec.tailnet },
    { key: vipServiceNameKey, value: svc.spec.vipService.name ?? defaultVipServiceName(svc.metadata.name) },
  ],
  dependsOn: ['endpoints', 'tailnets', 'backendServices'],
  // The endpoints its selector picks, and whether their devices are up: a change re-runs the selection.
  // Its tailnet's readiness: a TailscaleServices created before its tailnet is Ready reconciles once it is.
  // With a template, the object holding the name it provisions: once that goes, it can provision.
  // With a backend, the Service it forwards to.
  related: (svc, lookups) => {
    const inNamespace = lookups.endpointsIn(svc.metadata.namespace ?? '') as TailscaleEndpoints[];
    const picked = inNamespace
      .filter((e) => selectorMatches(svc.spec.selector, e.metadata.labels))
      .map((e) => [
        e.metadata.name,
        e.metadata.generation,
        e.spec.tailnet,
        (e.status?.devices ?? []).map((d) => [d.nodeID, d.online ?? d.connected]),
        e.status?.conditions?.find((c) => c.type === 'Ready')?.status,
      ])
      .sort();
    return {
      endpoints: createHash('sha256').update(JSON.stringify(picked)).digest('hex').slice(0, 16),
      tailnet: lookups.tailnetState(svc.spec.tailnet) ?? 'absent',
      ...(svc.spec.endpointTemplate ? { provisionName: nameHolder(svc, inNamespace) } : {}),
      // The Service its serve config forwards to: created, deleted or its ports changed re-runs it.
      ...(svc.spec.backend
        ? {
            backend:
              lookups.backendServiceState(svc.metadata.namespace ?? '', svc.spec.backend.serviceName) ??
              'absent',
          }
        : {}),
    };
  },
};

/** Which object holds the name the template provisions, and whether it is being deleted. */
function nameHolder(svc: TailscaleServices, endpoints: TailscaleEndpoints[]): string {
  const name = provisionedEndpointsName(svc.metadata.name, svc.spec.endpointTemplate ?? {});
  const holder = endpoints.find((e) => e.metadata.name === name);
  return holder
    ? `${holder.metadata.uid ?? ''}${holder.metadata.deletionTimestamp ? '/deleting' : ''}`
    : 'free';
}
