/**
 * The serve config file as containerboot applies it (cmd/containerboot/serve.go at tailscale v1.102.5):
 * `${TS_CERT_DOMAIN}` replaced, then plain `json.Unmarshal` into ipn.ServeConfig (ipn/serve.go; unknown
 * fields ignored), then LocalAPI SetServeConfig, which refuses a locked tailscaled config and a service
 * mixing `Tun` with `TCP`/`Web`. Any of those failures is fatal to containerboot.
 */
import { goBool, goInt, goString, GoJsonError, goUnmarshal, type GoType } from './go-json';
import { ProxyConfigRefused } from './refused';

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
  Handlers?: Record<string, HttpHandler | undefined>;
}
export interface ServiceConfig {
  TCP?: Record<string, TcpPortHandler | undefined>;
  Web?: Record<string, WebServerConfig | undefined>;
  Tun?: boolean;
}
export interface ServeConfig {
  TCP?: Record<string, TcpPortHandler | undefined>;
  Web?: Record<string, WebServerConfig | undefined>;
  Services?: Record<string, ServiceConfig | undefined>;
}

const tcpPortHandler: GoType = {
  kind: 'struct',
  name: 'TCPPortHandler',
  fields: { HTTPS: goBool, HTTP: goBool, TCPForward: goString, TerminateTLS: goString, ProxyProtocol: goInt },
};
const httpHandler: GoType = {
  kind: 'struct',
  name: 'HTTPHandler',
  fields: {
    Path: goString,
    Proxy: goString,
    Text: goString,
    Redirect: goString,
    AcceptAppCaps: { kind: 'list', element: goString, goName: '[]tailcfg.PeerCapability' },
  },
};
const webServerConfig: GoType = {
  kind: 'struct',
  name: 'WebServerConfig',
  fields: { Handlers: { kind: 'map', key: 'string', value: httpHandler, goName: 'ipn.WebHandlerMap' } },
};
const tcpMap: GoType = {
  kind: 'map',
  key: 'uint16',
  value: tcpPortHandler,
  goName: 'map[uint16]*ipn.TCPPortHandler',
};
const webMap: GoType = {
  kind: 'map',
  key: 'string',
  value: webServerConfig,
  goName: 'map[ipn.HostPort]*ipn.WebServerConfig',
};
const serviceConfig: GoType = {
  kind: 'struct',
  name: 'ServiceConfig',
  fields: { TCP: tcpMap, Web: webMap, Tun: goBool },
};
const serveConfigFields: Record<string, GoType> = {
  TCP: tcpMap,
  Web: webMap,
  Services: {
    kind: 'map',
    key: 'string',
    value: serviceConfig,
    goName: 'map[tailcfg.ServiceName]*ipn.ServiceConfig',
  },
  AllowFunnel: { kind: 'map', key: 'string', value: goBool, goName: 'map[ipn.HostPort]bool' },
};
const serveConfig: GoType = { kind: 'struct', name: 'ServeConfig', fields: serveConfigFields };
serveConfigFields.Foreground = {
  kind: 'map',
  key: 'string',
  value: serveConfig,
  goName: 'map[string]*ipn.ServeConfig',
};

/**
 * The serve config the replica runs with, or undefined when there is none to apply (a missing or
 * empty file is skipped, not cleared). `certDomain` is the device's MagicDNS name without the dot.
 */
export function loadServeConfig(
  path: string,
  text: string | undefined,
  opts: { certDomain: string; tailscaledConfigLocked: boolean },
): ServeConfig | undefined {
  if (text === undefined || text.length === 0) return undefined;
  let config: ServeConfig;
  try {
    const expanded = text.replaceAll('${TS_CERT_DOMAIN}', opts.certDomain || 'no-https');
    config = goUnmarshal(expanded, serveConfig) ?? {};
  } catch (err) {
    if (!(err instanceof GoJsonError)) throw err;
    throw new ProxyConfigRefused(
      `serve proxy: failed to read serve config: error parsing ${path}: ${err.message}`,
    );
  }
  const refuse = (why: string) => new ProxyConfigRefused(`serve proxy: error updating serve config: ${why}`);
  if (opts.tailscaledConfigLocked) throw refuse('config file is locked');
  for (const [name, service] of Object.entries(config.Services ?? {})) {
    if (service?.Tun && (Object.keys(service.TCP ?? {}).length || Object.keys(service.Web ?? {}).length))
      throw refuse(`cannot set TUN mode and TCP/Web handlers for service ${name}`);
  }
  return config;
}
