import { continueAsNew } from '@temporalio/workflow';
import type { TailscaleProxyGroupSpec } from '../api/v1alpha1/tailscale-proxy-group';
import { proxyLoopOptions, type ProxyWorkflowInput } from './proxy-steps';
import { runResourceLoop } from './resource-loop';

export type TailscaleProxyGroupWorkflowInput = ProxyWorkflowInput<TailscaleProxyGroupSpec>;

/** One per TailscaleProxyGroup (`proxygroup/<ns>/<name>`): the shared pool's proxies and devices. */
export async function tailscaleProxyGroupWorkflow(input: TailscaleProxyGroupWorkflowInput): Promise<void> {
  await runResourceLoop(
    proxyLoopOptions('TailscaleProxyGroup', input, (next) =>
      continueAsNew<typeof tailscaleProxyGroupWorkflow>(next),
    ),
  );
}
