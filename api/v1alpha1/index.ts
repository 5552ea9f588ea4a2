import type { CrdDefinition } from '../crd';
import { tailscaleEndpointsCrd } from './tailscale-endpoints';
import { tailscaleGatewayCrd } from './tailscale-gateway';
import { tailscaleProxyClassCrd } from './tailscale-proxy-class';
import { tailscaleProxyGroupCrd } from './tailscale-proxy-group';
import { tailscaleRoutePolicyCrd } from './tailscale-route-policy';
import { tailscaleServicesCrd } from './tailscale-services';
import { tailscaleTailnetCrd } from './tailscale-tailnet';

export * from './tailscale-endpoints';
export * from './tailscale-gateway';
export * from './tailscale-proxy-class';
export * from './tailscale-proxy-group';
export * from './tailscale-route-policy';
export * from './tailscale-services';
export * from './tailscale-tailnet';

/** Every CRD this operator installs, in the order `deploy/crds/` lists them. */
export const allCrds: CrdDefinition<unknown, unknown>[] = [
  tailscaleTailnetCrd,
  tailscaleEndpointsCrd,
  tailscaleServicesCrd,
  tailscaleProxyGroupCrd,
  tailscaleGatewayCrd,
  tailscaleRoutePolicyCrd,
  tailscaleProxyClassCrd,
] as CrdDefinition<unknown, unknown>[];
