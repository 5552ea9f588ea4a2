/**
 * Whether traffic can reach a VIP service through its hosts: Tailscale routes it only to an advertising
 * host it has approved. Pure; shared by the VIP workflow (when to look again) and its consumers
 * (their Ready condition).
 */
import type { VipServiceHostView } from '../activities/vip/hosts';
import { backoffMs } from './backoff';

export type HostsReadiness =
  | { ready: true; reason: 'HostsApproved'; message: string }
  | { ready: false; reason: 'NoHosts' | 'HostNotApproved'; message: string };

/** Undefined when the hosts were not read (a report from before hosts were read). */
export function hostsReadiness(
  serviceName: string,
  hosts: readonly VipServiceHostView[] | undefined,
): HostsReadiness | undefined {
  if (!hosts) return undefined;
  const advertising = hosts.filter((h) => h.advertising);
  const approved = advertising.filter((h) => h.approved);
  const silent = hosts.filter((h) => !h.advertising).map((h) => h.name);
  if (approved.length) {
    return {
      ready: true,
      reason: 'HostsApproved',
      message: `${approved.length} of ${advertising.length} advertising host(s) approved: ${approved.map((h) => h.name).join(', ')}`,
    };
  }
  if (!advertising.length) {
    return {
      ready: false,
      reason: 'NoHosts',
      message:
        `no device advertises ${serviceName} yet, so nothing can carry its traffic: its proxies are not connected ` +
        'to the tailnet or have not applied their config' +
        (silent.length ? ` (not advertising: ${silent.join(', ')})` : ''),
    };
  }
  const tags = [...new Set(advertising.flatMap((h) => h.tags))].sort();
  const policy = tags.length
    ? `or let the tailnet policy approve them: "autoApprovers": {"services": {"${serviceName}": ${JSON.stringify(tags)}}}`
    : `or tag the proxies and list that tag for ${serviceName} in the tailnet policy's "autoApprovers": {"services": ...}`;
  return {
    ready: false,
    reason: 'HostNotApproved',
    message:
      `${advertising.length} host(s) advertise ${serviceName} but Tailscale has approved none ` +
      `(${advertising.map((h) => `${h.name}: ${h.approvalLevel ?? 'not-approved'}`).join(', ')}), so none carries ` +
      `its traffic: approve them in the Tailscale admin console (Services, ${serviceName}) or with ` +
      `POST /api/v2/tailnet/-/services/${serviceName}/device/<nodeId>/approved {"approved": true}, ${policy}`,
  };
}

/** While hosts are missing or unapproved, look again after 5 s, doubling up to 10 min. */
export const hostPollDelayMs = (attempt: number) => backoffMs(attempt, 5000, 10 * 60_000);
/** Then stop polling (about an hour in all): only a consumer's change or the long re-check looks again. */
export const maxHostPolls = 12;

/** The status entry of a host: what a user needs to see (tags stay in the messages). */
export const hostStatus = (h: VipServiceHostView) => ({
  name: h.name,
  nodeId: h.nodeId,
  advertising: h.advertising,
  approved: h.approved,
  ...(h.approvalLevel ? { approvalLevel: h.approvalLevel } : {}),
});
