import type { EventNotice, EventSubject } from './events';

interface HostEntry {
  name?: unknown;
  nodeId?: unknown;
  approved?: unknown;
  approvalLevel?: unknown;
}

const hostsOf = (value: unknown): HostEntry[] =>
  Array.isArray(value) ? value.filter((h): h is HostEntry => h !== null && typeof h === 'object') : [];

/**
 * A Normal `HostApproved` for each host of the object's VIP service that the new `status.hosts` lists
 * as approved and the replaced status did not (absent, or not approved), named by its hostname and
 * node ID. Compared with the status this very write replaced, so each approval is told once however
 * often the same status is published, and never by a workflow replay.
 */
export function hostApprovalEvents(
  regarding: EventSubject,
  previousStatus: Record<string, unknown> | undefined,
  fields: Record<string, unknown> | undefined,
): EventNotice[] {
  if (!fields || !('hosts' in fields)) return [];
  const approvedBefore = new Set(
    hostsOf(previousStatus?.hosts)
      .filter((h) => h.approved === true)
      .map((h) => String(h.nodeId)),
  );
  const service = (fields.vipService as { name?: unknown } | undefined)?.name;
  return hostsOf(fields.hosts)
    .filter((h) => h.approved === true && !approvedBefore.has(String(h.nodeId)))
    .map((h) => ({
      regarding,
      type: 'Normal',
      reason: 'HostApproved',
      action: 'ReadHosts',
      note:
        `Tailscale approved host ${String(h.name)} (node ${String(h.nodeId)}) for VIP service ${String(service)}` +
        (typeof h.approvalLevel === 'string' ? ` (${h.approvalLevel})` : '') +
        ': it now carries traffic for the service',
    }));
}
