import type { ActivityContext } from './context';

/** Activities of the TailscaleEndpoints / TailscaleProxyGroup workflows (proxy StatefulSets, auth keys, devices). */
export function createEndpointsActivities(_ctx: ActivityContext) {
  return {};
}
