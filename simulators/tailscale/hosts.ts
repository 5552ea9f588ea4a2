/**
 * Service hosts and their approval: `GET /services/{name}/devices` and
 * `GET|POST /services/{name}/device/{deviceId}/approved`. A host is auto-approved when the tailnet
 * policy's `autoApprovers.services` maps the service's name or one of its tags to a tag of the device.
 */
import { notFound } from './api-error';
import type { ApiContext, AuthedRoute, ScopeRequirement } from './context';
import { ok } from './context';
import { pruneEphemeralDevices } from './devices';
import { parseJsonObject, requiredBoolean } from './json-body';
import type { DeviceRecord, TailnetRecord, VipServiceRecord } from './state';
import { existingService, servicePathName, servicesRead, servicesWrite } from './vip-services';

export type ApprovalLevel = 'not-approved' | 'approved:auto' | 'approved:manual';

const devicesRead: ScopeRequirement = { scope: 'devices:core:read', whenMissing: 403 };
const devicesWrite: ScopeRequirement = { scope: 'devices:core', whenMissing: 403 };
const serviceOrDeviceNotFound = 'Service or device not found';

export function isAutoApproved(
  tailnet: Pick<TailnetRecord, 'policy'>,
  service: VipServiceRecord,
  device: DeviceRecord,
): boolean {
  const approvers = tailnet.policy.autoApprovers.services;
  return [service.name, ...(service.tags ?? [])].some((key) =>
    (approvers[key] ?? []).some((tag) => device.tags.includes(tag)),
  );
}

export function approvalLevel(
  tailnet: Pick<TailnetRecord, 'policy'>,
  service: VipServiceRecord,
  device: DeviceRecord,
): ApprovalLevel {
  if (isAutoApproved(tailnet, service, device)) return 'approved:auto';
  return service.approvals[device.nodeId] === true ? 'approved:manual' : 'not-approved';
}

function listHosts(ctx: ApiContext) {
  const service = existingService(ctx, servicePathName(ctx));
  pruneEphemeralDevices(ctx.core, ctx.tailnet);
  const hosts = [...ctx.tailnet.devices.values()]
    .filter((device) => Object.hasOwn(device.advertisedServices, service.name))
    .map((device) => ({
      // The published description names the ID `stableNodeID`; the live API has been seen sending
      // `nodeId` (tailscale-client-go-v2 services.go): both, so clients of either spelling work.
      stableNodeID: device.nodeId,
      nodeId: device.nodeId,
      approvalLevel: approvalLevel(ctx.tailnet, service, device),
      configured: device.advertisedServices[service.name],
    }));
  return ok({ hosts });
}

function serviceAndDevice(ctx: ApiContext): { service: VipServiceRecord; device: DeviceRecord } {
  const name = ctx.req.params.name ?? '';
  const service = ctx.tailnet.vipServices.get(name);
  const device = ctx.core.state.findDevice(ctx.tailnet, ctx.req.params.deviceId ?? '');
  if (!service || !device) throw notFound(serviceOrDeviceNotFound);
  return { service, device };
}

function approvalView(ctx: ApiContext, service: VipServiceRecord, device: DeviceRecord) {
  const autoApproved = isAutoApproved(ctx.tailnet, service, device);
  return { approved: autoApproved || service.approvals[device.nodeId] === true, autoApproved };
}

function getApproval(ctx: ApiContext) {
  const { service, device } = serviceAndDevice(ctx);
  return ok(approvalView(ctx, service, device));
}

function setApproval(ctx: ApiContext) {
  const { service, device } = serviceAndDevice(ctx);
  service.approvals[device.nodeId] = requiredBoolean(parseJsonObject(ctx.req.rawBody), 'approved');
  return ok(approvalView(ctx, service, device));
}

export function hostRoutes(): AuthedRoute[] {
  const base = '/api/v2/tailnet/{tailnet}/services/{name}';
  return [
    {
      kind: 'authed',
      method: 'GET',
      template: `${base}/devices`,
      scopes: [servicesRead, devicesRead],
      servicesFeature: true,
      handler: listHosts,
    },
    {
      kind: 'authed',
      method: 'GET',
      template: `${base}/device/{deviceId}/approved`,
      scopes: [servicesRead, devicesRead],
      servicesFeature: true,
      handler: getApproval,
    },
    {
      kind: 'authed',
      method: 'POST',
      template: `${base}/device/{deviceId}/approved`,
      scopes: [servicesWrite, devicesWrite],
      servicesFeature: true,
      handler: setApproval,
    },
  ];
}
