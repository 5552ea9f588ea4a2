// The worker's workflow bundle entry point: every workflow type the operator runs.
export { tailscaleTailnetWorkflow } from './tailscale-tailnet';
export { tailscaleServicesWorkflow } from './tailscale-services';
export { vipServiceWorkflow } from './vip-service';
export { sweeperWorkflow } from './sweeper';
export { tailscaleGatewayWorkflow } from './tailscale-gateway';
export { tailscaleRoutePolicyWorkflow } from './tailscale-route-policy';
export * from './proxies';
