/**
 * VIP services (Tailscale Services) under both spellings, `/vip-services` (Go clients, the operator)
 * and `/services` (the OpenAPI spec). PUT is an upsert and a full replace; there is no ETag, so the
 * last writer wins.
 */
import { canonicalIpv6, isReservedIpv4, isTailscaleIpv4, isTailscaleIpv6, ipv4ToNumber } from './addresses';
import { ApiError, badRequest, notFound } from './api-error';
import type { ApiContext, AuthedRoute, ScopeRequirement } from './context';
import { ok } from './context';
import {
  optionalString,
  optionalStringArray,
  optionalStringMap,
  parseJsonObject,
  type JsonObject,
} from './json-body';
import type { TailnetRecord, VipServiceRecord } from './state';
import { checkPorts, checkTags, hasServicePrefix, isValidServiceName, serviceLabel } from './validation';

export const nameIsDeviceMessage = 'name exists but is not a service';
export const createNameMismatchMessage = 'service name in the request body must match the name in the path';
export const updateWithoutAddrsMessage = 'addrs must be set when updating an existing service';
export const ipv6ChangeMessage = 'the IPv6 address of an existing service cannot be changed';

export const servicesRead: ScopeRequirement = { scope: 'services:read', whenMissing: 404 };
export const servicesWrite: ScopeRequirement = { scope: 'services', whenMissing: 404 };

export interface VipServiceView {
  name: string;
  addrs: string[];
  displayName?: string;
  comment?: string;
  annotations?: Record<string, string>;
  ports?: string[];
  tags?: string[];
}

export function vipServiceView(record: VipServiceRecord): VipServiceView {
  const view: VipServiceView = { name: record.name, addrs: [...record.addrs] };
  if (record.displayName !== undefined) view.displayName = record.displayName;
  if (record.comment !== undefined) view.comment = record.comment;
  if (record.annotations !== undefined) view.annotations = { ...record.annotations };
  if (record.ports !== undefined) view.ports = [...record.ports];
  if (record.tags !== undefined) view.tags = [...record.tags];
  return view;
}

/** The path's service name; a bare name without `svc:` is simply not found, as on the real API. */
export function servicePathName(ctx: ApiContext): string {
  const name = ctx.req.params.name ?? '';
  if (!hasServicePrefix(name)) throw notFound();
  if (!isValidServiceName(name)) throw badRequest(`invalid service name "${name}": expected svc:<dns-label>`);
  return name;
}

export const nameIsDevice = (tailnet: TailnetRecord, name: string): boolean =>
  tailnet.deviceLabels.has(serviceLabel(name));

/** The service, or the API's error for a missing one (400 when a device holds the name). */
export function existingService(ctx: ApiContext, name: string): VipServiceRecord {
  const service = ctx.tailnet.vipServices.get(name);
  if (service) return service;
  if (nameIsDevice(ctx.tailnet, name)) throw badRequest(nameIsDeviceMessage);
  throw notFound(ctx.core.compat.missingServiceMessage);
}

function listServices(ctx: ApiContext) {
  const services = [...ctx.tailnet.vipServices.values()].map(vipServiceView);
  if (services.length === 0 && ctx.core.compat.emptyServiceListStatus === 404) throw notFound();
  return ok({ vipServices: services });
}

function getService(ctx: ApiContext) {
  return ok(vipServiceView(existingService(ctx, servicePathName(ctx))));
}

interface ServiceInput {
  name?: string;
  addrs?: string[];
  fields: Omit<VipServiceRecord, 'name' | 'addrs' | 'approvals'>;
}

function parseServiceInput(body: JsonObject): ServiceInput {
  const ports = optionalStringArray(body, 'ports');
  const tags = optionalStringArray(body, 'tags');
  const portsError = ports ? checkPorts(ports) : null;
  if (portsError) throw badRequest(portsError);
  const tagsError = tags ? checkTags(tags) : null;
  if (tagsError) throw badRequest(tagsError);
  const fields: ServiceInput['fields'] = {};
  const displayName = optionalString(body, 'displayName');
  const comment = optionalString(body, 'comment');
  const annotations = optionalStringMap(body, 'annotations');
  // Full replace: only what this request carries survives, so absent fields are simply not copied.
  if (displayName !== undefined) fields.displayName = displayName;
  if (comment !== undefined) fields.comment = comment;
  if (annotations !== undefined) fields.annotations = annotations;
  if (ports !== undefined) fields.ports = ports;
  if (tags !== undefined) fields.tags = tags;
  return { name: optionalString(body, 'name'), addrs: optionalStringArray(body, 'addrs'), fields };
}

function checkFreeIpv4(ctx: ApiContext, ipv4: string, ownAddrs: readonly string[] = []): void {
  if (!isTailscaleIpv4(ipv4) || isReservedIpv4(ipv4)) {
    throw badRequest(`invalid IPv4 address "${ipv4}": must be a free address in 100.64.0.0/10`);
  }
  if (!ownAddrs.includes(ipv4) && ctx.core.state.usedAddresses(ctx.tailnet).has(ipv4)) {
    throw badRequest(`IPv4 address ${ipv4} is already in use in this tailnet`);
  }
}

/** Create: `addrs` unset (allocate both) or exactly one IPv4 (kept, IPv6 allocated). */
function addrsForCreate(ctx: ApiContext, addrs: string[] | undefined): [string, string] {
  const used = ctx.core.state.usedAddresses(ctx.tailnet);
  if (addrs === undefined || addrs.length === 0) {
    const ipv4 = ctx.core.allocator.allocateIpv4(used);
    return [ipv4, ctx.core.allocator.allocateIpv6(used, 'service')];
  }
  if (addrs.length !== 1 || ipv4ToNumber(addrs[0]!) === null) {
    throw badRequest('addrs on create must be unset or a single IPv4 address');
  }
  checkFreeIpv4(ctx, addrs[0]!);
  return [addrs[0]!, ctx.core.allocator.allocateIpv6(used, 'service')];
}

/** Update: `addrs` required; the IPv4 may move to another free address, the IPv6 may not change. */
function addrsForUpdate(
  ctx: ApiContext,
  existing: VipServiceRecord,
  addrs: string[] | undefined,
): [string, string] {
  if (addrs === undefined || addrs.length === 0) throw badRequest(updateWithoutAddrsMessage);
  const ipv4s = addrs.filter((a) => ipv4ToNumber(a) !== null);
  const ipv6s = addrs.filter((a) => ipv4ToNumber(a) === null);
  if (ipv4s.length !== 1 || ipv6s.length > 1) {
    throw badRequest('addrs must hold one IPv4 address and at most one IPv6 address');
  }
  const ipv6 = ipv6s[0];
  if (ipv6 !== undefined) {
    if (!isTailscaleIpv6(ipv6)) throw badRequest(`invalid IPv6 address "${ipv6}"`);
    if (canonicalIpv6(ipv6) !== canonicalIpv6(existing.addrs[1])) throw badRequest(ipv6ChangeMessage);
  }
  checkFreeIpv4(ctx, ipv4s[0]!, existing.addrs);
  return [ipv4s[0]!, existing.addrs[1]];
}

function putService(ctx: ApiContext) {
  const pathName = servicePathName(ctx);
  const input = parseServiceInput(parseJsonObject(ctx.req.rawBody));
  const services = ctx.tailnet.vipServices;
  const existing = services.get(pathName);
  let record: VipServiceRecord;

  if (!existing) {
    if (nameIsDevice(ctx.tailnet, pathName)) throw badRequest(nameIsDeviceMessage);
    if (input.name !== undefined && input.name !== pathName) throw badRequest(createNameMismatchMessage);
    record = { name: pathName, addrs: addrsForCreate(ctx, input.addrs), ...input.fields, approvals: {} };
  } else {
    const newName = input.name ?? pathName;
    if (newName !== pathName) {
      if (!isValidServiceName(newName))
        throw badRequest(`invalid service name "${newName}": expected svc:<dns-label>`);
      if (services.has(newName)) throw new ApiError(409, `a service named ${newName} already exists`);
      if (nameIsDevice(ctx.tailnet, newName)) throw badRequest(nameIsDeviceMessage);
    }
    const addrs = addrsForUpdate(ctx, existing, input.addrs);
    record = { name: newName, addrs, ...input.fields, approvals: { ...existing.approvals } };
  }

  if (ctx.lostUpdate?.mode !== 'drop') applyWrite(ctx, pathName, record);
  return ok(vipServiceView(record));
}

/** Stores the write; a `revert` lost-update fault then puts the previous entries back, as a stale writer would. */
function applyWrite(ctx: ApiContext, pathName: string, record: VipServiceRecord): void {
  const services = ctx.tailnet.vipServices;
  const previous = [pathName, record.name].map((name) => [name, services.get(name)] as const);
  if (record.name !== pathName) services.delete(pathName);
  services.set(record.name, record);
  if (ctx.lostUpdate?.mode !== 'revert') return;

  const restore = () => {
    for (const [name, old] of previous) {
      if (old) services.set(name, old);
      else services.delete(name);
    }
  };
  if (ctx.lostUpdate.revertAfterMs <= 0) return restore();
  const timer = setTimeout(() => {
    ctx.core.timers.delete(timer);
    restore();
  }, ctx.lostUpdate.revertAfterMs);
  ctx.core.timers.add(timer);
}

function deleteService(ctx: ApiContext) {
  const name = servicePathName(ctx);
  existingService(ctx, name);
  ctx.tailnet.vipServices.delete(name);
  return ok();
}

export function vipServiceRoutes(): AuthedRoute[] {
  const routes: AuthedRoute[] = [];
  for (const spelling of ['vip-services', 'services']) {
    const collection = `/api/v2/tailnet/{tailnet}/${spelling}`;
    const item = `${collection}/{name}`;
    const route = (
      method: string,
      template: string,
      scope: ScopeRequirement,
      handler: AuthedRoute['handler'],
    ) => routes.push({ kind: 'authed', method, template, scopes: [scope], servicesFeature: true, handler });
    route('GET', collection, servicesRead, listServices);
    route('GET', item, servicesRead, getService);
    route('PUT', item, servicesWrite, putService);
    route('DELETE', item, servicesWrite, deleteService);
  }
  return routes;
}
