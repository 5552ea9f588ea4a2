/**
 * The egress config a proxy reads to carry cluster traffic to a tailnet target: Tailscale's
 * `egressservices.Configs` shape (file `egress-services`), a pure function of a TailscaleEndpoints'
 * `spec.egress`. https://github.com/tailscale/tailscale/blob/main/kube/egressservices/egressservices.go
 */
import type { EgressSpec, TailnetTarget } from '../../api/v1alpha1/tailscale-endpoints';

export const egressServicesKey = 'egress-services';

export interface EgressPortMap {
  protocol: 'TCP' | 'UDP';
  /** The port the proxy accepts on. */
  matchPort: number;
  /** The port on the tailnet target. */
  targetPort: number;
}
export interface EgressServiceConfig {
  healthCheckEndpoint: string;
  /** Exactly one of the two is non-empty; both keys are always written. */
  tailnetTarget: { ip: string; fqdn: string };
  /** A set, serialized as a list. */
  ports: EgressPortMap[];
}
export type EgressServiceConfigs = Record<string, EgressServiceConfig>;

export interface EgressInput {
  namespace: string;
  name: string;
  egress: EgressSpec;
  /** The tailnet's MagicDNS suffix, used to qualify a bare hostname or a `svc:` name. */
  dnsSuffix: string;
  healthCheckEndpoint?: string;
}

/** Tailscale keys each egress service `<namespace>-<name>`. */
export const egressConfigKey = (namespace: string, name: string): string => `${namespace}-${name}`;

/** A device hostname gets the tailnet suffix; a Tailscale Service is found by its MagicDNS name. */
export function egressTailnetTarget(
  target: TailnetTarget,
  dnsSuffix: string,
): EgressServiceConfig['tailnetTarget'] {
  const suffix = dnsSuffix.replace(/\.$/, '');
  if (target.ip) return { ip: target.ip, fqdn: '' };
  if (target.service) return { ip: '', fqdn: `${target.service.replace(/^svc:/, '')}.${suffix}` };
  const host = (target.host ?? '').replace(/\.$/, '');
  return { ip: '', fqdn: host.includes('.') ? host : `${host}.${suffix}` };
}

export function egressServiceConfig(input: EgressInput): EgressServiceConfig {
  return {
    healthCheckEndpoint: input.healthCheckEndpoint ?? '',
    tailnetTarget: egressTailnetTarget(input.egress.tailnetTarget, input.dnsSuffix),
    ports: [...input.egress.ports]
      .sort((a, b) => a.port - b.port)
      .map((p) => ({ protocol: 'TCP' as const, matchPort: p.port, targetPort: p.targetPort ?? p.port })),
  };
}

/** The whole `egress-services` file for a proxy carrying these endpoints' egress. */
export function egressServiceConfigs(inputs: readonly EgressInput[]): EgressServiceConfigs {
  const entries = inputs.map((i) => [egressConfigKey(i.namespace, i.name), egressServiceConfig(i)] as const);
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}
