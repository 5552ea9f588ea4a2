/**
 * Publications of a TailscaleGateway hosted on a TailscaleProxyGroup (spec.publish[].proxyGroup): which
 * pool hosts which service, and the one activity call that makes the pools match.
 */
import { proxyActivities } from '@temporalio/workflow';
import { hasShippedPatch } from './patches';
import type { Activities } from '../activities';
import type { Publication } from '../activities/gateway-api/publish';
import { remoteActivityOptions } from './retry-policies';

const acts = proxyActivities<Activities>(remoteActivityOptions('60s'));

/** Marks histories in which the gateway workflow hosts publications on pools. */
export const gatewayPoolHostingPatch = 'gateway-pool-hosting';

/** `<svc>` → the TailscaleProxyGroup hosting it. */
export type PoolHostings = Record<string, string>;

/**
 * Hosts `publications` that name a pool and withdraws what `previous` hosted that they no longer do.
 * Returns what is hosted now (undefined when nothing is and nothing was: no call, no history change).
 */
export async function hostOnPools(input: {
  namespace: string;
  gateway: { namespace: string; name: string };
  publications: readonly Publication[];
  previous: PoolHostings | undefined;
  /**
   * Whether the VIP workflow took the publication (attached), refused it (a claim or spec conflict: its
   * proxies must not advertise the name) or has not answered (unknown: the previous hosting is kept).
   */
  membership?: (p: Publication) => 'attached' | 'refused' | 'unknown';
}): Promise<{ hosted?: PoolHostings; problems: Record<string, string> }> {
  const host = input.publications.flatMap((p) => {
    if (!p.proxyGroup) return [];
    const taken = input.membership?.(p) ?? 'attached';
    if (taken === 'refused' || (taken === 'unknown' && input.previous?.[p.serviceName] !== p.proxyGroup))
      return [];
    return [{ serviceName: p.serviceName, proxyGroup: p.proxyGroup, ports: p.spec.ports }];
  });
  const previous = Object.entries(input.previous ?? {});
  if (!host.length && !previous.length) return { problems: {} };
  if (!hasShippedPatch(gatewayPoolHostingPatch)) return { problems: {} };
  const withdraw = previous
    .filter(([svc, pool]) => !host.some((h) => h.serviceName === svc && h.proxyGroup === pool))
    .map(([serviceName, proxyGroup]) => ({ serviceName, proxyGroup }));
  const { problems } = await acts.hostGatewayPublications({
    namespace: input.namespace,
    gateway: input.gateway,
    host,
    withdraw,
  });
  const hosted = Object.fromEntries(host.map((h) => [h.serviceName, h.proxyGroup]));
  return { ...(host.length ? { hosted } : {}), problems };
}
