/** Deterministic workflow ids (docs/architecture.md §3): one workflow per object, so a signal always finds its owner. */
export const tailnetWorkflowId = (name: string) => `tailnet/${name}`;
export const endpointsWorkflowId = (namespace: string, name: string) => `endpoints/${namespace}/${name}`;
export const servicesWorkflowId = (namespace: string, name: string) => `services/${namespace}/${name}`;
export const gatewayWorkflowId = (namespace: string, name: string) => `gateway/${namespace}/${name}`;
export const routePolicyWorkflowId = (namespace: string, name: string) => `routepolicy/${namespace}/${name}`;
export const proxyGroupWorkflowId = (namespace: string, name: string) => `proxygroup/${namespace}/${name}`;
export const vipWorkflowId = (tailnet: string, serviceName: string) => `vip/${tailnet}/${serviceName}`;
export const sweeperWorkflowId = (tailnet: string) => `sweeper/${tailnet}`;
/** A consumer's key for its membership in one VIP service: the VIP workflow's id without `vip/`. */
export const vipMembershipKey = (m: { tailnet: string; serviceName: string }) =>
  `${m.tailnet}/${m.serviceName}`;
