/**
 * The egress config a proxy reads to carry cluster traffic to a tailnet target: Tailscale's
 * `egressservices.Configs` shape (file `egress-services`), a pure function of a TailscaleEndpoints'
 * `spec.egress`. https://github.com/tailscale/tailscale/blob/main/kube/egressservices/egressservices.go
 */
import type { EgressSpec, TailnetTarget } from '../../api/v1alpha1/tailscale-endpoints';
import { vipServiceLabel } from '../../api/vip-service-name';

export const egressServicesKey = 'egress-services';
/** How many times the pre-shutdown hook polls each health check endpoint per round (replicas×3). */
export const hepPingsKey = 'hep-pings';
export const hepPings = (replicas: number): string => String(replicas * 3);

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
  /** The proxy port (`matchPort`) of each egress port, from allocateMatchPorts. */
  matchPorts: Readonly<Record<string, number>>;
  /** The tailnet's MagicDNS suffix, used to qualify a bare hostname or a `svc:` name; empty if unknown. */
  dnsSuffix: string;
  healthCheckEndpoint?: string;
}

/** Tailscale's range for egress container ports (k8s-operator egress-services: 10000-11000). */
export const matchPortRange = { first: 10_000, last: 10_999 } as const;

/** Per egress config key, per egress port (as a decimal string), its matchPort. */
export type MatchPortAllocations = Record<string, Record<string, number>>;

/**
 * Gives every wanted (key, port) a matchPort unique within the proxy set. Ports already allocated keep
 * theirs, so a reconcile, a scale or another endpoints joining the set never moves a live forward;
 * new ones take the lowest free port. Allocations of keys not wanted are dropped (their ports free up).
 */
export function allocateMatchPorts(
  wanted: Readonly<Record<string, readonly number[]>>,
  existing: MatchPortAllocations,
): MatchPortAllocations {
  const out: MatchPortAllocations = {};
  const used = new Set<number>();
  for (const [key, ports] of Object.entries(wanted)) {
    for (const port of ports) {
      const kept = existing[key]?.[String(port)];
      if (kept === undefined || kept < matchPortRange.first || kept > matchPortRange.last || used.has(kept))
        continue;
      (out[key] ??= {})[String(port)] = kept;
      used.add(kept);
    }
  }
  let next: number = matchPortRange.first;
  for (const key of Object.keys(wanted).sort()) {
    for (const port of [...wanted[key]!].sort((a, b) => a - b)) {
      if (out[key]?.[String(port)] !== undefined) continue;
      while (used.has(next)) next++;
      if (next > matchPortRange.last) throw new Error('no free egress matchPort left in 10000-10999');
      (out[key] ??= {})[String(port)] = next;
      used.add(next);
    }
  }
  return out;
}

/** Tailscale keys each egress service `<namespace>-<name>`. */
export const egressConfigKey = (namespace: string, name: string): string => `${namespace}-${name}`;

/** A device hostname gets the tailnet suffix; a Tailscale Service is found by its MagicDNS name. */
export function egressTailnetTarget(
  target: TailnetTarget,
  dnsSuffix: string,
): EgressServiceConfig['tailnetTarget'] {
  const suffix = dnsSuffix.replace(/\.$/, '');
  // Until the suffix is known (read off the tailnet's devices) a bare name is written as is.
  const qualify = (label: string) => (suffix ? `${label}.${suffix}` : label);
  if (target.ip) return { ip: target.ip, fqdn: '' };
  if (target.service) return { ip: '', fqdn: qualify(vipServiceLabel(target.service)) };
  const host = (target.host ?? '').replace(/\.$/, '');
  return { ip: '', fqdn: host.includes('.') ? host : qualify(host) };
}

/** Whether the target is a bare device name or a `svc:` name, which the MagicDNS suffix qualifies. */
export const egressNeedsDnsSuffix = (egress: EgressSpec | undefined): boolean =>
  Boolean(
    egress?.tailnetTarget.service ||
    (egress?.tailnetTarget.host && !egress.tailnetTarget.host.replace(/\.$/, '').includes('.')),
  );

export function egressServiceConfig(input: EgressInput): EgressServiceConfig {
  return {
    healthCheckEndpoint: input.healthCheckEndpoint ?? '',
    tailnetTarget: egressTailnetTarget(input.egress.tailnetTarget, input.dnsSuffix),
    ports: [...input.egress.ports]
      .sort((a, b) => a.port - b.port)
      .map((p) => ({
        protocol: 'TCP' as const,
        matchPort: matchPortOf(input.matchPorts, p.port),
        targetPort: p.targetPort ?? p.port,
      })),
  };
}

function matchPortOf(matchPorts: Readonly<Record<string, number>>, port: number): number {
  const matchPort = matchPorts[String(port)];
  if (matchPort === undefined) throw new Error(`egress port ${port} has no matchPort allocated`);
  return matchPort;
}

/** The whole `egress-services` file for a proxy carrying these endpoints' egress. */
export function egressServiceConfigs(inputs: readonly EgressInput[]): EgressServiceConfigs {
  const entries = inputs.map((i) => [egressConfigKey(i.namespace, i.name), egressServiceConfig(i)] as const);
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}
