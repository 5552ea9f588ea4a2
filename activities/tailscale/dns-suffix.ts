/**
 * The tailnet's MagicDNS suffix (e.g. `tail0622b6.ts.net`). No endpoint returns it, so it is read off
 * device names (`<machine>.<suffix>`), skipping devices shared in from other tailnets.
 */
import type { TailscaleClient } from './client';
import { listDevices, type Device } from './devices';
import type { CallOptions } from './vip-services';

/** The most common suffix among the tailnet's own devices, or null when there is none to read. */
export function dnsSuffixFromDeviceNames(
  devices: ReadonlyArray<Pick<Device, 'name' | 'isExternal'>>,
): string | null {
  const counts = new Map<string, number>();
  for (const device of devices) {
    if (device.isExternal) continue;
    const labels = device.name.replace(/\.$/, '').split('.');
    if (labels.length < 3 || labels.some((label) => label === '')) continue;
    const suffix = labels.slice(1).join('.').toLowerCase();
    counts.set(suffix, (counts.get(suffix) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestCount = 0;
  for (const [suffix, count] of counts) {
    if (count > bestCount) [best, bestCount] = [suffix, count];
  }
  return best;
}

/** Null until the tailnet has at least one device of its own. */
export async function discoverTailnetDnsSuffix(
  client: TailscaleClient,
  options: CallOptions = {},
): Promise<string | null> {
  return dnsSuffixFromDeviceNames(await listDevices(client, options));
}
