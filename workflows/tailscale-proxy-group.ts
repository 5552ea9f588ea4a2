import { continueAsNew } from '@temporalio/workflow';
import type { TailscaleProxyGroupSpec } from '../api/v1alpha1/tailscale-proxy-group';
import { runProxyWorkflow, type ProxyWorkflowInput } from './proxy-loop';

export type TailscaleProxyGroupWorkflowInput = ProxyWorkflowInput<TailscaleProxyGroupSpec>;

/** One per TailscaleProxyGroup (`proxygroup/<ns>/<name>`): the shared pool's proxies and devices. */
export async function tailscaleProxyGroupWorkflow(input: TailscaleProxyGroupWorkflowInput): Promise<void> {
  await runProxyWorkflow('TailscaleProxyGroup', input, (next) =>
    continueAsNew<typeof tailscaleProxyGroupWorkflow>(next),
  );
}
