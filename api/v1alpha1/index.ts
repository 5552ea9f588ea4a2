import type { CrdDefinition } from '../crd';
import { tailscaleEndpointsCrd } from './tailscale-endpoints';
import { tailscaleProxyGroupCrd } from './tailscale-proxy-group';
import { tailscaleServicesCrd } from './tailscale-services';
import { tailscaleTailnetCrd } from './tailscale-tailnet';

export * from './tailscale-endpoints';
export * from './tailscale-proxy-group';
export * from './tailscale-services';
export * from './tailscale-tailnet';

/** Every CRD this operator installs, in the order `deploy/crds/` lists them. */
export const allCrds: CrdDefinition<unknown, unknown>[] = [
  tailscaleTailnetCrd,
  tailscaleEndpointsCrd,
  tailscaleServicesCrd,
  tailscaleProxyGroupCrd,
] as CrdDefinition<unknown, unknown>[];
