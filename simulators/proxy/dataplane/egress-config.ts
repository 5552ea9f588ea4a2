/**
 * The egress config as containerboot reads it (cmd/containerboot/egressservices.go at tailscale
 * v1.102.5): file `egress-services` in the `TS_EGRESS_PROXIES_CONFIG_PATH` directory, plain
 * `json.Unmarshal` into egressservices.Configs (kube/egressservices/egressservices.go; `ports` is a JSON
 * list read as a set). A file it cannot decode ends the egress loop, and with it containerboot.
 */
import { goString, goUint16, GoJsonError, goUnmarshal, type GoType } from './go-json';
import { ProxyConfigRefused } from './refused';

export interface PortMap {
  protocol: string;
  matchPort: number;
  targetPort: number;
}
export interface EgressConfig {
  healthCheckEndpoint?: string;
  tailnetTarget: { ip?: string; fqdn?: string };
  ports: PortMap[];
}
export type EgressConfigs = Record<string, EgressConfig>;

const portMap: GoType = {
  kind: 'struct',
  name: 'PortMap',
  fields: { protocol: goString, matchPort: goUint16, targetPort: goUint16 },
  // PortMaps.UnmarshalJSON decodes the list itself.
  inheritName: true,
};
const egressConfig: GoType = {
  kind: 'struct',
  name: 'Config',
  fields: {
    healthCheckEndpoint: goString,
    tailnetTarget: { kind: 'struct', name: 'TailnetTarget', fields: { ip: goString, fqdn: goString } },
    ports: { kind: 'list', element: portMap, goName: '[]egressservices.PortMap' },
  },
};
const configs: GoType = { kind: 'map', key: 'string', value: egressConfig, goName: 'egressservices.Configs' };

/** The configs, or undefined when the file is missing or empty (nothing to do). */
export function loadEgressConfigs(path: string, text: string | undefined): EgressConfigs | undefined {
  if (text === undefined || text.length === 0) return undefined;
  let decoded: Record<string, Partial<EgressConfig> | undefined>;
  try {
    decoded = (goUnmarshal(text, configs) ?? {}) as Record<string, Partial<EgressConfig> | undefined>;
  } catch (err) {
    if (!(err instanceof GoJsonError)) throw err;
    throw new ProxyConfigRefused(
      `error running egress services proxy: error retrieving egress services configs: error unmarshalling config from ${path}: ${err.message}`,
    );
  }
  const out: EgressConfigs = {};
  for (const [name, config] of Object.entries(decoded)) {
    const ports = new Map<string, PortMap>();
    for (const p of (config?.ports ?? []) as Partial<PortMap>[]) {
      const port = { protocol: p.protocol ?? '', matchPort: p.matchPort ?? 0, targetPort: p.targetPort ?? 0 };
      ports.set(JSON.stringify(port), port);
    }
    out[name] = {
      ...(config?.healthCheckEndpoint ? { healthCheckEndpoint: config.healthCheckEndpoint } : {}),
      tailnetTarget: config?.tailnetTarget ?? {},
      ports: [...ports.values()],
    };
  }
  return out;
}
