/**
 * VIP services (Tailscale Services). Writes are a full replace with no ETag: to change one field,
 * GET, modify, PUT the whole object (with its `addrs`), then GET again to verify; concurrent writers
 * may otherwise silently overwrite each other.
 */
import type { TailscaleClient } from './client';
import { isNotFound, TailscaleApiError } from './errors';
import {
  isRecord,
  isStringArray,
  isStringMap,
  listField,
  optionalString,
  unexpectedResponse,
} from './response-shape';

export interface VipService {
  name: string;
  /** `[IPv4, IPv6]` once allocated. */
  addrs: string[];
  displayName?: string;
  comment?: string;
  annotations?: Record<string, string>;
  /** `tcp:<port>`, `tcp:<first>-<last>`, or exactly `["do-not-validate"]`. */
  ports?: string[];
  tags?: string[];
}

/** A PUT body: `addrs` unset on create (allocate) and copied from the current object on update. */
export type VipServiceInput = Omit<VipService, 'addrs'> & { addrs?: string[] };

export type VipServiceApprovalLevel = 'not-approved' | 'approved:auto' | 'approved:manual' | (string & {});

export interface VipServiceHost {
  nodeId: string;
  approvalLevel: VipServiceApprovalLevel;
  configured: string;
}

export interface VipServiceApproval {
  approved: boolean;
  autoApproved: boolean;
}

export interface CallOptions {
  signal?: AbortSignal;
}

function assertServiceName(name: string): void {
  if (!/^svc:[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name)) {
    throw new TailscaleApiError({
      type: 'TailscaleBadRequest',
      retryable: false,
      message: `"${name}" is not a Tailscale Service name: expected svc:<dns-label>, e.g. svc:web.`,
    });
  }
}

function parseVipService(value: unknown, method: string, path: string): VipService {
  if (!isRecord(value) || typeof value.name !== 'string' || !isStringArray(value.addrs ?? [])) {
    throw unexpectedResponse('a VIP service needs a name and string addrs', method, path);
  }
  const service: VipService = { name: value.name, addrs: [...((value.addrs as string[] | undefined) ?? [])] };
  const displayName = optionalString(value.displayName);
  const comment = optionalString(value.comment);
  if (displayName !== undefined) service.displayName = displayName;
  if (comment !== undefined) service.comment = comment;
  if (isStringMap(value.annotations)) service.annotations = { ...value.annotations };
  if (isStringArray(value.ports)) service.ports = [...value.ports];
  if (isStringArray(value.tags)) service.tags = [...value.tags];
  return service;
}

export async function listVipServices(
  client: TailscaleClient,
  options: CallOptions = {},
): Promise<VipService[]> {
  const path = client.tailnetPath('vip-services');
  const { json } = await client.request('GET', path, options);
  return listField(json, 'vipServices', 'GET', path).map((item) => parseVipService(item, 'GET', path));
}

/**
 * The service, or null when it does not exist. A 404 here can also mean a missing `services` scope;
 * `listVipServices` tells the two apart (it fails with an explained 404 when the scope is missing).
 */
export async function getVipService(
  client: TailscaleClient,
  name: string,
  options: CallOptions = {},
): Promise<VipService | null> {
  assertServiceName(name);
  const path = client.tailnetPath('vip-services', name);
  try {
    const { json } = await client.request('GET', path, options);
    return parseVipService(json, 'GET', path);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * Creates or fully replaces a service. To rename, pass the current name as `currentName` and the new
 * one in `service.name`. Returns the stored object when the API echoes it (the spec says it does;
 * Go clients ignore the body), else null: an empty body, `null`, or anything that is not a service.
 */
export async function putVipService(
  client: TailscaleClient,
  service: VipServiceInput,
  options: CallOptions & { currentName?: string } = {},
): Promise<VipService | null> {
  const pathName = options.currentName ?? service.name;
  assertServiceName(pathName);
  assertServiceName(service.name);
  const path = client.tailnetPath('vip-services', pathName);
  const { json } = await client.request('PUT', path, {
    body: service,
    signal: options.signal,
    bodyUnused: true,
  });
  return isRecord(json) && typeof json.name === 'string' ? parseVipService(json, 'PUT', path) : null;
}

/** Deletes the service; false when it was already gone (idempotent for retries). */
export async function deleteVipService(
  client: TailscaleClient,
  name: string,
  options: CallOptions = {},
): Promise<boolean> {
  assertServiceName(name);
  try {
    await client.request('DELETE', client.tailnetPath('vip-services', name), {
      ...options,
      bodyUnused: true,
    });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export async function listVipServiceHosts(
  client: TailscaleClient,
  name: string,
  options: CallOptions = {},
): Promise<VipServiceHost[]> {
  assertServiceName(name);
  const path = client.tailnetPath('services', name, 'devices');
  const { json } = await client.request('GET', path, options);
  return listField(json, 'hosts', 'GET', path).map((host): VipServiceHost => {
    // The spec calls the ID `stableNodeID`; the live API sends `nodeId`. Accept both.
    const nodeId = isRecord(host)
      ? (optionalString(host.nodeId) ?? optionalString(host.stableNodeID))
      : undefined;
    if (!isRecord(host) || nodeId === undefined)
      throw unexpectedResponse('a host needs a nodeId', 'GET', path);
    return {
      nodeId,
      approvalLevel: optionalString(host.approvalLevel) ?? 'not-approved',
      configured: optionalString(host.configured) ?? '',
    };
  });
}

function parseApproval(json: unknown, method: string, path: string): VipServiceApproval {
  if (!isRecord(json) || typeof json.approved !== 'boolean') {
    throw unexpectedResponse('expected {"approved": bool}', method, path);
  }
  return { approved: json.approved, autoApproved: json.autoApproved === true };
}

export async function getVipServiceHostApproval(
  client: TailscaleClient,
  name: string,
  nodeId: string,
  options: CallOptions = {},
): Promise<VipServiceApproval> {
  assertServiceName(name);
  const path = client.tailnetPath('services', name, 'device', nodeId, 'approved');
  return parseApproval((await client.request('GET', path, options)).json, 'GET', path);
}

export async function setVipServiceHostApproval(
  client: TailscaleClient,
  name: string,
  nodeId: string,
  approved: boolean,
  options: CallOptions = {},
): Promise<VipServiceApproval> {
  assertServiceName(name);
  const path = client.tailnetPath('services', name, 'device', nodeId, 'approved');
  const { json } = await client.request('POST', path, { body: { approved }, signal: options.signal });
  return parseApproval(json, 'POST', path);
}
