import { continueAsNew } from '@temporalio/workflow';
import type { TailscaleEndpointsSpec } from '../api/v1alpha1/tailscale-endpoints';
import { proxyLoopOptions, type ProxyWorkflowInput } from './proxy-steps';
import { runResourceLoop } from './resource-loop';

export type TailscaleEndpointsWorkflowInput = ProxyWorkflowInput<TailscaleEndpointsSpec>;

/**
 * One per TailscaleEndpoints (`endpoints/<ns>/<name>`): its StatefulSet of Tailscale proxies, one
 * auth key per replica without a device, the devices' status; or, with spec.proxyGroup, the status
 * of the shared pool it uses.
 */
export async function tailscaleEndpointsWorkflow(input: TailscaleEndpointsWorkflowInput): Promise<void> {
  await runResourceLoop(
    proxyLoopOptions('TailscaleEndpoints', input, (next) =>
      continueAsNew<typeof tailscaleEndpointsWorkflow>(next),
    ),
  );
}
