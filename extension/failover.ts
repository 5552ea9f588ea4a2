/**
 * Health-aware failover for Tailscale backends: endpoints are grouped into Envoy priority levels,
 * 0 = healthy local proxies, 1 = healthy remote, 2 = unhealthy local, so Envoy sends traffic to the
 * first level with healthy hosts and spills over as outlier detection ejects them. Unhealthy remote
 * endpoints are left out: nothing here could bring them back sooner than a re-translation.
 */
import type { BackendEndpoint } from './backend-index';
import { HealthStatus, type LocalityLbEndpoints, type OutlierDetection } from './envoy-types';

export const Tier = { HealthyLocal: 0, HealthyRemote: 1, UnhealthyLocal: 2 } as const;
export type Tier = (typeof Tier)[keyof typeof Tier];

export function tierOf(endpoint: BackendEndpoint): Tier | undefined {
  if (endpoint.healthy) return endpoint.locality === 'local' ? Tier.HealthyLocal : Tier.HealthyRemote;
  return endpoint.locality === 'local' ? Tier.UnhealthyLocal : undefined;
}

const tierNames: Record<Tier, string> = {
  [Tier.HealthyLocal]: 'healthy-local',
  [Tier.HealthyRemote]: 'healthy-remote',
  [Tier.UnhealthyLocal]: 'unhealthy-local',
};

/**
 * Envoy requires priorities numbered from 0 without gaps, so the tiers present are renumbered in
 * order (a cluster with only healthy-local and unhealthy-local endpoints gets priorities 0 and 1).
 * The tier survives as the locality's sub_zone, which shows up in Envoy's stats and admin output.
 */
export function localityEndpoints(endpoints: readonly BackendEndpoint[]): LocalityLbEndpoints[] {
  const byTier = new Map<Tier, BackendEndpoint[]>();
  for (const endpoint of endpoints) {
    const tier = tierOf(endpoint);
    if (tier === undefined) continue;
    const list = byTier.get(tier) ?? [];
    list.push(endpoint);
    byTier.set(tier, list);
  }
  const tiers = [...byTier.keys()].sort((a, b) => a - b);
  return tiers.map((tier, priority) => ({
    locality: { subZone: tierNames[tier] },
    priority,
    lbEndpoints: (byTier.get(tier) ?? []).map((e) => ({
      endpoint: { address: { socketAddress: { address: e.address, portValue: e.port } } },
      // Unhealthy-local hosts stay routable (HEALTHY) at the last priority: they are the last resort
      // when nothing better is left, and Envoy's own outlier detection decides whether they work.
      healthStatus: HealthStatus.HEALTHY,
    })),
  }));
}

/**
 * Passive health checking: a proxy that keeps failing (5xx, or connection failures, which Envoy counts
 * as gateway failures) is ejected, moving traffic to the next priority without waiting for the control
 * plane. Local-origin errors are split out so an unreachable proxy is ejected after 3 connect failures.
 */
export function outlierDetection(): OutlierDetection {
  return {
    consecutive_5xx: { value: 5 },
    consecutiveGatewayFailure: { value: 3 },
    enforcingConsecutiveGatewayFailure: { value: 100 },
    splitExternalLocalOriginErrors: true,
    consecutiveLocalOriginFailure: { value: 3 },
    interval: { seconds: 5 },
    baseEjectionTime: { seconds: 30 },
    maxEjectionPercent: { value: 100 },
  };
}
