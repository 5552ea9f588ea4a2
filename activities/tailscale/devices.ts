/** Devices: list (with the API's exact-match filters), get and delete. */
import { pathSegment, type TailscaleClient } from './client';
import { isNotFound } from './errors';
import {
  booleanOr,
  isRecord,
  isStringArray,
  listField,
  optionalString,
  stringOr,
  unexpectedResponse,
} from './response-shape';
import type { CallOptions } from './vip-services';

export interface Device {
  /** Legacy numeric ID. */
  id: string;
  /** Stable node ID (`n...CNTRL`), the preferred identifier. */
  nodeId: string;
  /** MagicDNS FQDN, `<machine>.<tailnet suffix>`. */
  name: string;
  hostname: string;
  addresses: string[];
  tags: string[];
  user: string;
  os: string;
  clientVersion: string;
  authorized: boolean;
  isEphemeral: boolean;
  isExternal: boolean;
  connectedToControl: boolean;
  keyExpiryDisabled: boolean;
  created: string;
  expires: string;
  /** Absent while the device is connected (or when it never was). */
  lastSeen?: string;
  /** Only with `fields: 'all'`. */
  advertisedRoutes?: string[];
  enabledRoutes?: string[];
}

export interface ListDevicesOptions extends CallOptions {
  fields?: 'default' | 'all';
  /** Exact-match filters on top-level fields, AND-ed; a list field must contain every given value. */
  filters?: Record<string, string | string[]>;
}

function parseDevice(value: unknown, method: string, path: string): Device {
  if (!isRecord(value) || typeof value.nodeId !== 'string' || typeof value.name !== 'string') {
    throw unexpectedResponse('a device needs a nodeId and a name', method, path);
  }
  const device: Device = {
    id: stringOr(value.id, ''),
    nodeId: value.nodeId,
    name: value.name,
    hostname: stringOr(value.hostname, ''),
    addresses: isStringArray(value.addresses) ? [...value.addresses] : [],
    tags: isStringArray(value.tags) ? [...value.tags] : [],
    user: stringOr(value.user, ''),
    os: stringOr(value.os, ''),
    clientVersion: stringOr(value.clientVersion, ''),
    authorized: booleanOr(value.authorized, false),
    isEphemeral: booleanOr(value.isEphemeral, false),
    isExternal: booleanOr(value.isExternal, false),
    connectedToControl: booleanOr(value.connectedToControl, false),
    keyExpiryDisabled: booleanOr(value.keyExpiryDisabled, false),
    created: stringOr(value.created, ''),
    expires: stringOr(value.expires, ''),
  };
  const lastSeen = optionalString(value.lastSeen);
  if (lastSeen !== undefined) device.lastSeen = lastSeen;
  if (isStringArray(value.advertisedRoutes)) device.advertisedRoutes = [...value.advertisedRoutes];
  if (isStringArray(value.enabledRoutes)) device.enabledRoutes = [...value.enabledRoutes];
  return device;
}

export async function listDevices(
  client: TailscaleClient,
  options: ListDevicesOptions = {},
): Promise<Device[]> {
  const path = client.tailnetPath('devices');
  const query = { fields: options.fields, ...options.filters };
  const { json } = await client.request('GET', path, { query, signal: options.signal });
  return listField(json, 'devices', 'GET', path).map((item) => parseDevice(item, 'GET', path));
}

/** The device by nodeId (or legacy ID), or null when it does not exist. */
export async function getDevice(
  client: TailscaleClient,
  deviceId: string,
  options: CallOptions & { fields?: 'default' | 'all' } = {},
): Promise<Device | null> {
  const path = `/api/v2/device/${pathSegment(deviceId)}`;
  try {
    const { json } = await client.request('GET', path, {
      query: { fields: options.fields },
      signal: options.signal,
    });
    return parseDevice(json, 'GET', path);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Deletes the device; false when it was already gone (as the operator's EnsureDeviceDeleted treats a 404). */
export async function deleteDevice(
  client: TailscaleClient,
  deviceId: string,
  options: CallOptions = {},
): Promise<boolean> {
  try {
    await client.request('DELETE', `/api/v2/device/${pathSegment(deviceId)}`, {
      ...options,
      bodyUnused: true,
    });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
