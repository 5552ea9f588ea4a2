/**
 * What tailscaled does against the control plane, for the admin API: log in with an auth key
 * (creating a device), go on/offline, and advertise services as a host.
 */
import { ApiError, badRequest } from './api-error';
import type { SimulatorCore } from './context';
import { newHexKey, newLegacyDeviceId, newNodeId } from './ids';
import { isAuthKeyUsable } from './keys';
import type { DeviceRecord, TailnetRecord } from './state';
import { isValidServiceName } from './validation';

const untaggedKeyLifetimeMs = 180 * 24 * 3600_000;
export const hostsMustBeTaggedMessage = 'service hosts must be tagged nodes';

export interface DeviceLogin {
  authKey: string;
  hostname: string;
  os?: string;
  clientVersion?: string;
}

function rejectKeyReason(core: SimulatorCore, authKey: string): string | null {
  const found = core.state.findAuthKeyBySecret(authKey);
  if (!found) return 'invalid key: unknown auth key';
  const { key } = found;
  const now = core.clock.now();
  if (isAuthKeyUsable(key, now)) return null;
  if (key.revokedAt !== null) return 'invalid key: auth key has been revoked';
  if (key.expiresAt <= now) return 'invalid key: auth key has expired';
  return 'invalid key: auth key has already been used';
}

export function loginDevice(
  core: SimulatorCore,
  login: DeviceLogin,
): { tailnet: TailnetRecord; device: DeviceRecord } {
  if (
    typeof login.authKey !== 'string' ||
    typeof login.hostname !== 'string' ||
    login.hostname.trim() === ''
  ) {
    throw badRequest('authKey and hostname are required');
  }
  const rejection = rejectKeyReason(core, login.authKey);
  if (rejection) throw new ApiError(400, rejection);
  const { tailnet, key } = core.state.findAuthKeyBySecret(login.authKey)!;
  key.uses++;

  const now = core.clock.now();
  const used = core.state.usedAddresses(tailnet);
  const tagged = key.tags.length > 0;
  const device: DeviceRecord = {
    id: newLegacyDeviceId(),
    nodeId: newNodeId(),
    hostname: login.hostname,
    dnsLabel: core.state.uniqueDeviceLabel(tailnet, login.hostname),
    os: login.os ?? 'linux',
    clientVersion: login.clientVersion ?? '1.88.1-t4c2c1b7a3-g8e1f5a0c2',
    user: tagged ? 'tagged-devices' : `admin@${tailnet.name}`,
    created: now,
    addresses: [core.allocator.allocateIpv4(used), core.allocator.allocateIpv6(used, 'device')],
    tags: [...key.tags],
    authorized: key.preauthorized || !tailnet.settings.devicesApprovalOn,
    isEphemeral: key.ephemeral,
    // Tagged devices have key expiry disabled by default.
    keyExpiryDisabled: tagged,
    keyExpiresAt: tagged ? null : now + untaggedKeyLifetimeMs,
    connected: true,
    lastSeen: now,
    machineKey: newHexKey('mkey'),
    nodeKey: newHexKey('nodekey'),
    tailnetLockKey: newHexKey('nlpub'),
    advertisedRoutes: [],
    enabledRoutes: [],
    advertisedServices: {},
    authKeyId: key.id,
  };
  core.state.addDevice(tailnet, device);
  return { tailnet, device };
}

function findDeviceAnywhere(
  core: SimulatorCore,
  nodeId: string,
): { tailnet: TailnetRecord; device: DeviceRecord } {
  for (const tailnet of core.state.tailnets.values()) {
    const device = core.state.findDevice(tailnet, nodeId);
    if (device) return { tailnet, device };
  }
  throw new ApiError(404, `device ${nodeId} not found`);
}

export function setDeviceOnline(core: SimulatorCore, nodeId: string, online: boolean): void {
  const { device } = findDeviceAnywhere(core, nodeId);
  device.connected = online;
  device.lastSeen = core.clock.now();
}

export function advertiseServices(
  core: SimulatorCore,
  nodeId: string,
  services: string[],
  configured = 'ready',
): void {
  const { device } = findDeviceAnywhere(core, nodeId);
  if (device.tags.length === 0) throw badRequest(hostsMustBeTaggedMessage);
  const invalid = services.find((name) => !isValidServiceName(name));
  if (invalid !== undefined) throw badRequest(`invalid service name "${invalid}"`);
  for (const name of services) device.advertisedServices[name] = configured;
}

export function unadvertiseServices(core: SimulatorCore, nodeId: string, services: string[]): void {
  const { device } = findDeviceAnywhere(core, nodeId);
  for (const name of services) delete device.advertisedServices[name];
}
