import type { ConditionUpdate } from '../api/conditions';
import { ServicesReason as R } from '../api/reasons';
import type { Selection } from '../activities/services';
import type { VipServiceReport } from './messages';
import { hostsReadiness } from './vip-hosts';

/** What one pass of the services workflow did, as far as its conditions tell. */
export interface ServicesPass {
  replicas: number;
  withheld: boolean;
  refused: boolean;
  hasTemplate: boolean;
  /** The backend's verdict (unset: a pass from before backends, or an old history). */
  backend?: 'ok' | 'none' | { reason: string; message: string };
}

export const notReady = (reason: string, message: string): ConditionUpdate => ({
  type: 'Ready',
  status: 'False',
  reason,
  message,
});

/** Every condition a TailscaleServices publishes after a pass, Ready derived from the others. */
export function servicesConditions(
  serviceName: string,
  selection: Selection,
  vip: VipServiceReport | undefined,
  pass: ServicesPass,
): ConditionUpdate[] {
  const endpoints = endpointsCondition(selection, pass.hasTemplate);
  const vipReady = vipServiceCondition(vip, pass.withheld);
  const backend = backendCondition(pass.backend);
  const proxies = proxyConfigCondition(pass, backend);
  const hosts = hostsCondition(serviceName, vip);
  // A refused claim says why first: no endpoints or proxies would make it usable. Otherwise the first
  // condition that is not True says why the service is not Ready.
  const blocking = pass.refused
    ? vipReady
    : [endpoints, backend, vipReady, proxies, hosts].find((c) => c && c.status !== 'True');
  const ready: ConditionUpdate = blocking
    ? notReady(blocking.reason, blocking.message)
    : {
        type: 'Ready',
        status: 'True',
        reason: R.Ready,
        message: hosts
          ? `VIP service exists, is advertised by the selected endpoints, and ${hosts.message}`
          : 'VIP service exists and is advertised by the selected endpoints',
      };
  return [endpoints, ...(backend ? [backend] : []), vipReady, ...(hosts ? [hosts] : []), proxies, ready];
}

export function endpointsCondition(selection: Selection, hasTemplate: boolean): ConditionUpdate {
  const type = 'EndpointsSelected';
  const selected = selection.selected.length;
  const wrong = selection.wrongTailnet.length
    ? `; ignored (other tailnet): ${selection.wrongTailnet.join(', ')}`
    : '';
  if (selected) {
    const message = `${selected} TailscaleEndpoints selected${wrong}`;
    return { type, status: 'True', reason: R.EndpointsSelected, message };
  }
  if (selection.provisionBlocked) {
    return { type, status: 'False', reason: R.EndpointsNameTaken, message: selection.provisionBlocked };
  }
  const hint = hasTemplate ? '' : ', or add spec.endpointTemplate';
  const message = `spec.selector matches no TailscaleEndpoints on this tailnet${wrong}: label some${hint}`;
  return { type, status: 'False', reason: R.NoEndpointsSelected, message };
}

export function vipServiceCondition(vip: VipServiceReport | undefined, withheld: boolean): ConditionUpdate {
  const type = 'VIPServiceReady';
  if (!vip) {
    return { type, status: 'Unknown', reason: R.Pending, message: 'waiting for the VIP service workflow' };
  }
  if (vip.error) {
    const message = withheld
      ? `${vip.error} Not advertised, and not tried again until spec.vipService changes.`
      : vip.error;
    const reason = vip.errorType === R.TagsNotPermitted ? R.TagsNotPermitted : R.TailscaleError;
    return { type, status: 'False', reason, message };
  }
  if (!vip.attached) return { type, status: 'False', reason: vip.outcome, message: vip.message };
  if (vip.outcome === 'SpecMismatch') {
    // The owner's spec is what this install applies: another install's applied instead is not Ready.
    // A sharer whose spec differs still serves (the owner's spec is applied) and stays True.
    const status = vip.specOwner ? 'False' : 'True';
    return { type, status, reason: R.SpecMismatch, message: vip.message };
  }
  const reason = vip.outcome === 'Created' ? R.Created : R.Attached;
  return { type, status: 'True', reason, message: `${vip.message}; ${vip.consumers} consumer(s)` };
}

export function backendCondition(backend: ServicesPass['backend']): ConditionUpdate | undefined {
  const type = 'BackendReady';
  if (backend === undefined) return undefined;
  if (backend === 'ok') {
    const message = 'spec.backend resolved: the serve config is written';
    return { type, status: 'True', reason: R.BackendFound, message };
  }
  if (backend === 'none') {
    const message = 'no spec.backend: the proxies advertise the service and serve nothing for it';
    return { type, status: 'True', reason: R.NoBackend, message };
  }
  return { type, status: 'False', ...backend };
}

export function proxyConfigCondition(
  pass: ServicesPass,
  backend: ConditionUpdate | undefined,
): ConditionUpdate {
  const type = 'ProxyConfigReady';
  const withheld = (why: string): ConditionUpdate => ({
    type,
    status: 'False',
    reason: R.Withheld,
    message: `not advertised: ${why}`,
  });
  if (pass.refused) return withheld('the claim on the VIP service was refused (see VIPServiceReady)');
  if (backend?.status === 'False') return withheld('the backend cannot be served (see BackendReady)');
  if (pass.withheld) return withheld('Tailscale refuses the service name (see VIPServiceReady)');
  if (pass.replicas) {
    const message = `advertised by ${pass.replicas} proxy replica(s)`;
    return { type, status: 'True', reason: R.Advertised, message };
  }
  const message = 'no proxy replica config to advertise the service on yet';
  return { type, status: 'False', reason: R.NoProxies, message };
}

/**
 * `HostsApproved`: traffic flows only through an advertising host Tailscale approved. None when an
 * attached service's hosts were not read (a VIP workflow run from before it read them): Ready then
 * rests on the other conditions, as it did.
 */
export function hostsCondition(
  serviceName: string,
  vip: VipServiceReport | undefined,
): ConditionUpdate | undefined {
  if (!vip) return undefined;
  if (!vip.attached || vip.error) {
    // Replaces what an earlier pass said of the hosts (VIPServiceReady already holds Ready back).
    return {
      type: 'HostsApproved',
      status: 'Unknown',
      reason: R.VIPServiceNotReady,
      message: `the hosts of ${serviceName} are read once the VIP service is attached`,
    };
  }
  const readiness = hostsReadiness(serviceName, vip.hosts);
  if (!readiness) return undefined;
  return {
    type: 'HostsApproved',
    status: readiness.ready ? 'True' : 'False',
    reason: readiness.reason,
    message: readiness.message,
  };
}
