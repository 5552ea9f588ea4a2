/**
 * Who hosts a VIP service: the devices Tailscale lists as advertising it, with their approval, plus the
 * devices we expect to (our proxies) that do not advertise it yet. Traffic reaches a service only
 * through an advertising host Tailscale has approved (docs/tailscale-api-facts.md, Hosts).
 */
import type { TailscaleClient } from '../tailscale/client';
import { ExpiringPromises } from '../expiring-promises';
import { getDevice } from '../tailscale/devices';
import { isTailscaleApiError } from '../tailscale/errors';
import { listVipServiceHosts } from '../tailscale/vip-services';

export interface VipServiceHostView {
  /** The device's hostname; its node ID when Tailscale does not know the device. */
  name: string;
  nodeId: string;
  /** Tailscale lists it as a host of the service (its tailscaled advertises the name). */
  advertising: boolean;
  /** Tailscale has approved it to serve the service, by policy or by hand. */
  approved: boolean;
  /** `not-approved`, `approved:auto` or `approved:manual`, as Tailscale says; absent when not advertising. */
  approvalLevel?: string;
  /** The device's ACL tags: what a policy's `autoApprovers.services` would have to name. */
  tags: string[];
}

/** What the hosts view shows of a device: its hostname and ACL tags. */
export interface DeviceLabel {
  name: string;
  tags: string[];
}

/** How long a device's hostname and tags, once read, serve every hosts view of its tailnet. */
export const defaultDeviceLabelTtlMs = 30_000;

/**
 * Device labels read from Tailscale, kept per API client (one per tailnet) for a while: every attach of
 * every service on a pool describes the same few proxies, which was two device GETs per attach (about
 * 5,400 for 1,000 services cold). Approval is never kept: it comes from the hosts list on every read.
 * A device Tailscale does not describe is not kept either, so a proxy still registering is named on the
 * next read.
 */
export class DeviceLabels {
  private readonly byClient = new WeakMap<TailscaleClient, ExpiringPromises<string, DeviceLabel>>();

  constructor(
    private readonly ttlMs = defaultDeviceLabelTtlMs,
    private readonly now: () => number = Date.now,
  ) {}

  of(client: TailscaleClient, nodeId: string): Promise<DeviceLabel> {
    let labels = this.byClient.get(client);
    if (!labels) {
      labels = new ExpiringPromises<string, DeviceLabel>(this.ttlMs, this.now);
      this.byClient.set(client, labels);
    }
    return labels.get(
      nodeId,
      () => readDeviceLabel(client, nodeId),
      (label) => label.name !== nodeId,
    );
  }
}

/** Only names and tags for the status: a device Tailscale refuses to describe keeps its node ID. */
async function readDeviceLabel(client: TailscaleClient, nodeId: string): Promise<DeviceLabel> {
  const device = await getDevice(client, nodeId).catch((err: unknown) => {
    if (isTailscaleApiError(err) && err.status !== undefined && err.status < 500 && err.status !== 429)
      return null;
    throw err;
  });
  return { name: device?.hostname || nodeId, tags: device?.tags ?? [] };
}

/** Hosts first, then our devices that do not advertise it, each sorted by name. */
export async function readVipServiceHosts(
  client: TailscaleClient,
  serviceName: string,
  expectedNodeIds: readonly string[] | undefined,
  labels: DeviceLabels,
): Promise<VipServiceHostView[]> {
  const listed = await listVipServiceHosts(client, serviceName);
  const listedIds = new Set(listed.map((h) => h.nodeId));
  const missing = [...new Set(expectedNodeIds ?? [])].filter((id) => !listedIds.has(id));
  const describe = async (nodeId: string): Promise<DeviceLabel> => {
    const label = await labels.of(client, nodeId);
    return { name: label.name, tags: [...label.tags] };
  };
  const [hosts, absent] = await Promise.all([
    Promise.all(
      listed.map(async (h): Promise<VipServiceHostView> => ({
        ...(await describe(h.nodeId)),
        nodeId: h.nodeId,
        advertising: true,
        approved: h.approvalLevel.startsWith('approved'),
        approvalLevel: h.approvalLevel,
      })),
    ),
    Promise.all(
      missing.map(async (nodeId): Promise<VipServiceHostView> => ({
        ...(await describe(nodeId)),
        nodeId,
        advertising: false,
        approved: false,
      })),
    ),
  ]);
  const byName = (a: VipServiceHostView, b: VipServiceHostView) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.nodeId < b.nodeId ? -1 : 1;
  return [...hosts.sort(byName), ...absent.sort(byName)];
}
