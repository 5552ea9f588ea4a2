// The worker's workflow bundle entry point: every workflow type the operator runs.
export { tailscaleTailnetWorkflow } from './tailscale-tailnet';
export * from './proxies';
