/**
 * Condition reasons each kind publishes, next to the condition shape in conditions.ts. Kept free of
 * schema builders so workflow code can import them. A reason can also be an outcome passed through
 * (a VIP workflow's outcome, a tailnet check's reason): those are not listed here.
 */

/** TailscaleServices: EndpointsSelected, BackendReady, VIPServiceReady, HostsApproved, ProxyConfigReady, Ready. */
export const ServicesReason = {
  Ready: 'Ready',
  InvalidSpec: 'InvalidSpec',
  DeletionBlocked: 'DeletionBlocked',
  TailnetNotReady: 'TailnetNotReady',
  TailnetNotFound: 'TailnetNotFound',
  EndpointsSelected: 'EndpointsSelected',
  EndpointsNameTaken: 'EndpointsNameTaken',
  NoEndpointsSelected: 'NoEndpointsSelected',
  Pending: 'Pending',
  TailscaleError: 'TailscaleError',
  /** A spec.vipService.tags entry outside the admin allow-list (proxies.allowedTags). */
  TagsNotPermitted: 'TagsNotPermitted',
  SpecMismatch: 'SpecMismatch',
  Created: 'Created',
  Attached: 'Attached',
  BackendFound: 'BackendFound',
  NoBackend: 'NoBackend',
  Withheld: 'Withheld',
  Advertised: 'Advertised',
  NoProxies: 'NoProxies',
  VIPServiceNotReady: 'VIPServiceNotReady',
} as const;

/** TailscaleEndpoints and TailscaleProxyGroup (workflows/proxy-steps.ts): Ready. */
export const ProxyReason = {
  Ready: 'Ready',
  Provisioning: 'Provisioning',
  InvalidSpec: 'InvalidSpec',
  TailnetNotReady: 'TailnetNotReady',
  AuthKeyRejected: 'AuthKeyRejected',
  NameConflict: 'NameConflict',
  ProxyClassNotFound: 'ProxyClassNotFound',
  ProxyClassNotPermitted: 'ProxyClassNotPermitted',
  TagsNotPermitted: 'TagsNotPermitted',
  ReconcileError: 'ReconcileError',
  ProxyGroupNotFound: 'ProxyGroupNotFound',
  ProxyGroupNotReady: 'ProxyGroupNotReady',
  DevicesObserved: 'DevicesObserved',
  TailscaleApiError: 'TailscaleApiError',
  ProxyVersionTooOld: 'ProxyVersionTooOld',
} as const;

/**
 * TailscaleGateway: ServicesReady, Ready. Also passed through: a backend's, a publication's or a host
 * check's reason, and a VIP workflow's outcome.
 */
export const GatewayReason = {
  Ready: 'Ready',
  ServicesReady: 'ServicesReady',
  NoTailscaleBackends: 'NoTailscaleBackends',
  Forbidden: 'Forbidden',
  GatewayNotFound: 'GatewayNotFound',
  TailnetNotReady: 'TailnetNotReady',
  TailnetNotFound: 'TailnetNotFound',
  VIPServicePending: 'VIPServicePending',
  VIPServiceError: 'VIPServiceError',
  SpecMismatch: 'SpecMismatch',
  Unknown: 'Unknown',
} as const;

/** TailscaleTailnet: Ready, from the check of its OAuth client (activities/tailnet-checks.ts). */
export const TailnetReason = {
  Ready: 'Ready',
  TailnetNotFound: 'TailnetNotFound',
  InvalidSecret: 'InvalidSecret',
  InvalidOAuth: 'InvalidOAuth',
  MissingScope: 'MissingScope',
  IdentityCollision: 'IdentityCollision',
} as const;
export type TailnetReason = (typeof TailnetReason)[keyof typeof TailnetReason];

/** TailscaleRoutePolicy: Accepted and Conflicted, per target in status.ancestors. */
export const RoutePolicyReason = {
  Accepted: 'Accepted',
  Conflicted: 'Conflicted',
  NoConflict: 'NoConflict',
  TargetNotFound: 'TargetNotFound',
  InvalidRegex: 'InvalidRegex',
  InvalidHeader: 'InvalidHeader',
} as const;
