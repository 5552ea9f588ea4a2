/**
 * Devices: list (with exact-match filters), get, delete, authorize and retag. A device's `name` is
 * its MagicDNS FQDN `<label>.<tailnet suffix>`; `lastSeen` is omitted while it is connected.
 */
import { ApiError, badRequest, notFound } from './api-error';
import { goZeroTime, iso } from './clock';
import type { ApiContext, AuthedRoute, ScopeRequirement, SimulatorCore } from './context';
import { ok } from './context';
import { optionalStringArray, parseJsonObject, requiredBoolean } from './json-body';
import type { DeviceRecord, TailnetRecord } from './state';
import { checkTags } from './validation';

const devicesRead: ScopeRequirement = { scope: 'devices:core:read', whenMissing: 403 };
const devicesWrite: ScopeRequirement = { scope: 'devices:core', whenMissing: 403 };

export type DeviceFields = 'default' | 'all';

function deviceFqdn(tailnet: TailnetRecord, device: DeviceRecord): string {
  return `${device.dnsLabel}.${tailnet.dnsSuffix}`;
}

export function deviceView(
  tailnet: TailnetRecord,
  device: DeviceRecord,
  fields: DeviceFields,
): Record<string, unknown> {
  const view: Record<string, unknown> = {
    addresses: [...device.addresses],
    id: device.id,
    nodeId: device.nodeId,
    user: device.user,
    name: deviceFqdn(tailnet, device),
    hostname: device.hostname,
    clientVersion: device.clientVersion,
    updateAvailable: false,
    os: device.os,
    created: iso(device.created),
    connectedToControl: device.connected,
    keyExpiryDisabled: device.keyExpiryDisabled,
    expires: device.keyExpiresAt === null ? goZeroTime : iso(device.keyExpiresAt),
    authorized: device.authorized,
    isExternal: false,
    machineKey: device.machineKey,
    nodeKey: device.nodeKey,
    blocksIncomingConnections: false,
    tailnetLockKey: device.tailnetLockKey,
    tailnetLockError: '',
    isEphemeral: device.isEphemeral,
  };
  if (device.tags.length > 0) view.tags = [...device.tags];
  if (!device.connected && device.lastSeen !== null) view.lastSeen = iso(device.lastSeen);
  if (fields === 'all') {
    view.enabledRoutes = [...device.enabledRoutes];
    view.advertisedRoutes = [...device.advertisedRoutes];
    view.clientConnectivity = {
      endpoints: [],
      mappingVariesByDestIP: false,
      latency: {},
      clientSupports: { hairPinning: false, ipv6: false, pcp: false, pmp: false, udp: true, upnp: false },
    };
    view.sshEnabled = false;
    view.distro = { name: '', version: '', codeName: '' };
  }
  return view;
}

/**
 * Removes ephemeral devices that have been offline longer than the timeout, as the control plane
 * does; run lazily whenever devices are read, so no background timer is needed.
 */
export function pruneEphemeralDevices(core: SimulatorCore, tailnet: TailnetRecord): void {
  const now = core.clock.now();
  for (const device of [...tailnet.devices.values()]) {
    const offlineFor = device.lastSeen === null ? 0 : now - device.lastSeen;
    if (device.isEphemeral && !device.connected && offlineFor > core.ephemeralTimeoutMs) {
      removeDevice(core, tailnet, device.nodeId);
    }
  }
}

export function removeDevice(core: SimulatorCore, tailnet: TailnetRecord, nodeId: string): boolean {
  for (const service of tailnet.vipServices.values()) delete service.approvals[nodeId];
  return core.state.removeDevice(tailnet, nodeId);
}

function fieldsParam(ctx: ApiContext): DeviceFields {
  return ctx.req.query.get('fields') === 'all' ? 'all' : 'default';
}

const isScalar = (value: unknown): value is string | number | boolean =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

function matchesFilters(view: Record<string, unknown>, query: URLSearchParams): boolean {
  for (const field of new Set(query.keys())) {
    if (field === 'fields') continue;
    if (!Object.hasOwn(view, field) && field !== 'tags' && field !== 'lastSeen') {
      throw badRequest(`cannot filter devices by unknown field "${field}"`);
    }
    const actual = view[field];
    const wanted = query.getAll(field);
    const ok = Array.isArray(actual)
      ? wanted.every((value) => actual.includes(value))
      : isScalar(actual) && wanted.every((value) => String(actual) === value);
    if (!ok) return false;
  }
  return true;
}

function listDevices(ctx: ApiContext) {
  pruneEphemeralDevices(ctx.core, ctx.tailnet);
  const fields = fieldsParam(ctx);
  const devices: Record<string, unknown>[] = [];
  for (const device of ctx.tailnet.devices.values()) {
    const view = deviceView(ctx.tailnet, device, 'default');
    if (matchesFilters(view, ctx.req.query))
      devices.push(fields === 'all' ? deviceView(ctx.tailnet, device, 'all') : view);
  }
  return ok({ devices });
}

/** The path's device, by nodeId (preferred) or legacy numeric id. */
function pathDevice(ctx: ApiContext): DeviceRecord {
  const id = ctx.req.params.deviceId ?? '';
  if (!/^(\d+|n[A-Za-z0-9]+CNTRL)$/.test(id)) throw new ApiError(400, 'invalid ID');
  pruneEphemeralDevices(ctx.core, ctx.tailnet);
  const device = ctx.core.state.findDevice(ctx.tailnet, id);
  if (!device) throw notFound();
  return device;
}

function getDevice(ctx: ApiContext) {
  return ok(deviceView(ctx.tailnet, pathDevice(ctx), fieldsParam(ctx)));
}

function deleteDevice(ctx: ApiContext) {
  removeDevice(ctx.core, ctx.tailnet, pathDevice(ctx).nodeId);
  return ok();
}

function setAuthorized(ctx: ApiContext) {
  const device = pathDevice(ctx);
  device.authorized = requiredBoolean(parseJsonObject(ctx.req.rawBody), 'authorized');
  return ok();
}

function setTags(ctx: ApiContext) {
  const device = pathDevice(ctx);
  const tags = optionalStringArray(parseJsonObject(ctx.req.rawBody), 'tags') ?? [];
  const error = checkTags(tags);
  if (error) throw badRequest(error);
  device.tags = [...new Set(tags)];
  return ok();
}

export function deviceRoutes(): AuthedRoute[] {
  const route = (
    method: string,
    template: string,
    scope: ScopeRequirement,
    handler: AuthedRoute['handler'],
  ) => ({ kind: 'authed', method, template, scopes: [scope], handler }) satisfies AuthedRoute;
  return [
    route('GET', '/api/v2/tailnet/{tailnet}/devices', devicesRead, listDevices),
    route('GET', '/api/v2/device/{deviceId}', devicesRead, getDevice),
    route('DELETE', '/api/v2/device/{deviceId}', devicesWrite, deleteDevice),
    route('POST', '/api/v2/device/{deviceId}/authorized', devicesWrite, setAuthorized),
    route('POST', '/api/v2/device/{deviceId}/tags', devicesWrite, setTags),
  ];
}
