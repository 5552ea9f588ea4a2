/**
 * What the box needs to know about the tailnet, from the Tailscale simulator's state: each device's
 * MagicDNS name and IPv4, each VIP service's VIP and which connected devices host it approved (the
 * `approvalLevel` of GET /services/{name}/devices, simulators/tailscale/hosts.ts).
 */
import type { TailscaleSimulatorAdmin } from '../../tailscale/admin';
import { approvalLevel } from '../../tailscale/hosts';
import type { TailnetDump } from '../../tailscale/state';

export interface TailnetDevice {
  nodeId: string;
  /** `<label>.<suffix>`, no trailing dot. */
  fqdn: string;
  hostname: string;
  ipv4: string;
  connected: boolean;
}

export interface TailnetService {
  /** `svc:<label>`. */
  name: string;
  fqdn: string;
  vipv4: string;
  /** Connected devices advertising it whose approvalLevel is not `not-approved`. */
  approvedHosts: string[];
}

export interface TailnetView {
  dnsSuffix: string;
  devices: TailnetDevice[];
  services: TailnetService[];
}

export type TailnetSource = Pick<TailscaleSimulatorAdmin, 'dumpState'>;

/** One view per tailnet. */
export async function readTailnets(source: TailnetSource): Promise<TailnetView[]> {
  return (await source.dumpState()).tailnets.map(viewOf);
}

export function viewOf(tailnet: TailnetDump): TailnetView {
  const devices = tailnet.devices.map((d) => ({
    nodeId: d.nodeId,
    fqdn: `${d.dnsLabel}.${tailnet.dnsSuffix}`,
    hostname: d.hostname,
    ipv4: d.addresses[0],
    connected: d.connected,
  }));
  const services = tailnet.vipServices.map((service) => ({
    name: service.name,
    fqdn: `${service.name.replace(/^svc:/, '')}.${tailnet.dnsSuffix}`,
    vipv4: service.addrs[0],
    approvedHosts: tailnet.devices
      .filter(
        (d) =>
          d.connected &&
          Object.hasOwn(d.advertisedServices, service.name) &&
          approvalLevel(tailnet, service, d) !== 'not-approved',
      )
      .map((d) => d.nodeId),
  }));
  return { dnsSuffix: tailnet.dnsSuffix, devices, services };
}

/** The tailnet a device is in. */
export function tailnetOf(views: TailnetView[], nodeId: string): TailnetView | undefined {
  return views.find((v) => v.devices.some((d) => d.nodeId === nodeId));
}

/**
 * The tailnet IPv4 an egress target names (containerboot's resolveTailnetFQDN): an IP as given; else a
 * device by MagicDNS name (or bare hostname); else a VIP service by name, only while some host serves it.
 */
export function resolveTailnetTarget(
  view: TailnetView,
  target: { ip?: string; fqdn?: string },
): string | undefined {
  if (target.ip) return target.ip;
  const name = (target.fqdn ?? '').replace(/\.$/, '').toLowerCase();
  if (!name) return undefined;
  const device = view.devices.find((d) => d.fqdn.toLowerCase() === name || d.hostname.toLowerCase() === name);
  if (device) return device.ipv4;
  const service = view.services.find((s) => s.fqdn.toLowerCase() === name);
  return service && service.approvedHosts.length ? service.vipv4 : undefined;
}
