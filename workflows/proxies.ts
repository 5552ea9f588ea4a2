// Workflows of TailscaleEndpoints and TailscaleProxyGroup (issue 6), sharing the proxy machinery.
export { tailscaleEndpointsWorkflow } from './tailscale-endpoints';
export { tailscaleProxyGroupWorkflow } from './tailscale-proxy-group';
