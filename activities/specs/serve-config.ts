/**
 * The serve config (`ipn.ServeConfig`) that tells tailscaled on a proxy what to do with a VIP
 * service's traffic: a pure function of the TailscaleServices backend and the backend Service's
 * facts (ClusterIP, ports). Shapes and field names follow tailscale.com/ipn ServeConfig: Go field
 * names as JSON keys, TCP ports as string keys, the Web key `<label>.<MagicDNS suffix>:<port>`.
 * https://github.com/tailscale/tailscale/blob/main/ipn/serve.go
 */
import type { BackendMode, ServiceBackend } from '../../api/v1alpha1/tailscale-services';
import { vipServiceLabel } from '../../api/vip-service-name';

export interface TcpPortHandler {
  HTTPS?: boolean;
  HTTP?: boolean;
  TCPForward?: string;
  TerminateTLS?: string;
  ProxyProtocol?: number;
}
export interface HttpHandler {
  Path?: string;
  Proxy?: string;
  Text?: string;
  Redirect?: string;
  AcceptAppCaps?: string[];
}
export interface WebServerConfig {
  Handlers: Record<string, HttpHandler>;
}
export interface ServiceConfig {
  TCP?: Record<string, TcpPortHandler>;
  Web?: Record<string, WebServerConfig>;
  Tun?: boolean;
}
export interface ServeConfig {
  TCP?: Record<string, TcpPortHandler>;
  Web?: Record<string, WebServerConfig>;
  Services?: Record<string, ServiceConfig>;
  AllowFunnel?: Record<string, boolean>;
}

/** What the operator read about the backend Service. */
export interface BackendServiceFacts {
  /** `spec.clusterIP`; "None" or absent for a headless Service. */
  clusterIP?: string;
  ports: { name?: string; port: number }[];
}

export interface ServiceServeInput {
  /** `svc:<label>`. */
  vipService: string;
  /** The tailnet's MagicDNS suffix, e.g. tail0622b6.ts.net. */
  dnsSuffix: string;
  /** `spec.vipService.ports`, e.g. ["tcp:443", "tcp:8000-8010"]. */
  vipPorts: readonly string[];
  backend: ServiceBackend;
  service: BackendServiceFacts;
}

/** Why no config: the spec and the Service disagree (InvalidBackend), or the Service lacks a named port. */
export type ServeProblemReason = 'InvalidBackend' | 'BackendPortNotFound';
export type ServeResult =
  { ok: true; config: ServiceConfig } | { ok: false; reason: ServeProblemReason; problem: string };

/** The name tailscaled looks a service's Web handlers up by: `<label>.<suffix>:<port>`. */
export const serviceWebKey = (vipService: string, dnsSuffix: string, port: number): string =>
  `${vipServiceLabel(vipService)}.${dnsSuffix.replace(/\.$/, '')}:${port}`;

const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** The ServiceConfig for one VIP service, or what the user must fix for it to exist. */
export function serviceServeConfig(input: ServiceServeInput): ServeResult {
  const { backend, service } = input;
  const clusterIP = service.clusterIP;
  if (!clusterIP || clusterIP === 'None') {
    return {
      ok: false,
      reason: 'InvalidBackend',
      problem: `Service ${backend.serviceName} has no cluster IP (headless); give it a ClusterIP or choose another Service`,
    };
  }
  const uncovered = uncoveredVipPorts(
    input.vipPorts,
    backend.ports.map((p) => p.port),
  );
  if (uncovered.length) {
    return {
      ok: false,
      reason: 'InvalidBackend',
      problem: `vipService.ports ${uncovered.join(', ')} have no backend.ports entry; map each VIP port to a Service port`,
    };
  }
  const extra = backend.ports.filter((p) => !vipPortCovers(input.vipPorts, p.port)).map((p) => p.port);
  if (extra.length) {
    return {
      ok: false,
      reason: 'InvalidBackend',
      problem: `backend.ports ${extra.join(', ')} are not in vipService.ports; add tcp:<port> there or remove them`,
    };
  }
  const config: ServiceConfig = {};
  for (const mapping of [...backend.ports].sort((a, b) => a.port - b.port)) {
    const target = service.ports.find((p) =>
      typeof mapping.servicePort === 'number'
        ? p.port === mapping.servicePort
        : p.name === mapping.servicePort,
    );
    if (!target) {
      const have = service.ports.map((p) => (p.name ? `${p.name}=${p.port}` : String(p.port))).join(', ');
      return {
        ok: false,
        reason: 'BackendPortNotFound',
        problem: `Service ${backend.serviceName} has no port ${JSON.stringify(mapping.servicePort)} (it has ${have || 'none'}); fix backend.ports[port=${mapping.port}].servicePort`,
      };
    }
    addPort(config, input, mapping.port, mapping.mode ?? 'tcp', clusterIP, target);
  }
  return { ok: true, config };
}

function addPort(
  config: ServiceConfig,
  input: ServiceServeInput,
  vipPort: number,
  mode: BackendMode,
  clusterIP: string,
  target: { name?: string; port: number },
): void {
  const tcp = (config.TCP ??= {});
  const address = hostPort(clusterIP, target.port);
  if (mode === 'tcp') {
    tcp[String(vipPort)] = { TCPForward: address };
    return;
  }
  tcp[String(vipPort)] = mode === 'https' ? { HTTPS: true } : { HTTP: true };
  // Tailscale's operator speaks TLS to a backend port 443 or one named https, without verifying it.
  const scheme = target.port === 443 || target.name === 'https' ? 'https+insecure' : 'http';
  (config.Web ??= {})[serviceWebKey(input.vipService, input.dnsSuffix, vipPort)] = {
    Handlers: { '/': { Proxy: `${scheme}://${address}/` } },
  };
}

function vipPortCovers(vipPorts: readonly string[], port: number): boolean {
  return vipPorts.some((spec) => {
    if (spec === 'do-not-validate') return true;
    const m = /^tcp:(\d+)(?:-(\d+))?$/.exec(spec);
    return Boolean(m && Number(m[1]) <= port && port <= Number(m[2] ?? m[1]));
  });
}

/** VIP ports (single or inside a range) that no backend port maps. */
export function uncoveredVipPorts(vipPorts: readonly string[], mapped: readonly number[]): string[] {
  const have = new Set(mapped);
  const out: string[] = [];
  for (const spec of vipPorts) {
    const m = /^tcp:(\d+)(?:-(\d+))?$/.exec(spec);
    if (!m) continue;
    const first = Number(m[1]);
    const last = Number(m[2] ?? m[1]);
    const missing: number[] = [];
    for (let p = first; p <= last && missing.length < 4; p++) if (!have.has(p)) missing.push(p);
    if (missing.length) out.push(m[2] ? `${spec} (e.g. ${missing.join(', ')})` : spec);
  }
  return out;
}

/** The whole file a proxy reads (`TS_SERVE_CONFIG`): one entry per VIP service it hosts. */
export function serveConfigOf(services: Record<string, ServiceConfig>): ServeConfig {
  const sorted = Object.keys(services).sort();
  return { Services: Object.fromEntries(sorted.map((name) => [name, services[name]!])) };
}
