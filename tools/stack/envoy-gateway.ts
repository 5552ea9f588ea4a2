/**
 * A real Envoy Gateway in standalone mode for tests: file resource provider (a directory of Gateway API
 * YAML, watched), Host infrastructure (no Kubernetes), and the extension manager pointed at our server
 * on loopback. No Envoy proxy is needed: EG translates and calls the hooks whether or not an Envoy is
 * connected (its attempt to download one fails offline, is logged, and EG keeps running).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot } from '../../runtime/paths';
import { freePort } from './ports';
import { spawnManaged, waitUntil, type ManagedProcess } from './process';

/** EG's xDS server port; a constant in EG (not configurable), so one EG per machine at a time. */
export const envoyGatewayXdsPort = 18000;

export function envoyGatewayBinary(): string {
  const cache = process.env.TSGW_CACHE_DIR ?? join(homedir(), '.cache', 'tailscale-gateway-operator');
  const version = readFileSync(join(repoRoot(), 'tools', 'versions', 'envoy-gateway'), 'utf8').trim();
  return join(cache, 'envoy-gateway', version, 'envoy-gateway');
}

export interface EnvoyGatewayOptions {
  dir: string;
  extensionPort: number;
  /** The extensionManager block (without `service`, which points at extensionPort). */
  extensionManager: Record<string, unknown>;
  /** Objects written as resources.yaml in the watched directory. */
  resources: Record<string, unknown>[];
}

export interface EnvoyGateway {
  process: ManagedProcess;
  configHome: string;
  resourcesDir: string;
  logFile: string;
  /** The log so far (EG writes JSON lines to stdout). */
  log(): string;
  /** Replaces the watched resources (EG's file provider picks the change up). */
  writeResources(objects: Record<string, unknown>[]): void;
  stop(): Promise<void>;
}

export async function startEnvoyGateway(opts: EnvoyGatewayOptions): Promise<EnvoyGateway> {
  const binary = envoyGatewayBinary();
  if (!existsSync(binary)) throw new Error(`${binary} missing: run tools/setup.sh envoy-gateway`);
  const home = (name: string) => {
    const dir = join(opts.dir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const configHome = home('config');
  const resourcesDir = home('resources');
  execFileSync(binary, ['certgen', '--local', '--config-home', configHome], { stdio: 'pipe' });
  const adminPort = await freePort();
  const config = {
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind: 'EnvoyGateway',
    gateway: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' },
    logging: { level: { default: 'info' } },
    admin: { address: { host: '127.0.0.1', port: adminPort } },
    telemetry: { metrics: { prometheus: { disable: true } } },
    provider: {
      type: 'Custom',
      custom: {
        resource: { type: 'File', file: { paths: [resourcesDir] } },
        infrastructure: {
          type: 'Host',
          host: { configHome, dataHome: home('data'), stateHome: home('state'), runtimeDir: home('run') },
        },
      },
    },
    extensionApis: { enableBackend: true },
    extensionManager: {
      ...opts.extensionManager,
      service: { fqdn: { hostname: '127.0.0.1', port: opts.extensionPort } },
    },
  };
  const configPath = join(opts.dir, 'envoy-gateway.yaml');
  writeFileSync(configPath, stringify(config));
  const writeResources = (objects: Record<string, unknown>[]) =>
    writeFileSync(join(resourcesDir, 'resources.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  writeResources(opts.resources);

  const logFile = join(opts.dir, 'envoy-gateway.log');
  const proc = spawnManaged({
    name: 'envoy-gateway',
    command: binary,
    args: ['server', '--config-path', configPath],
    logFile,
    // HOME too: func-e falls back to it for its own directories.
    env: { ...process.env, HOME: home('home') },
  });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  await waitUntil('envoy-gateway admin server', () => adminUp(adminPort), {
    timeoutMs: 60_000,
    process: proc,
  });
  return {
    process: proc,
    configHome,
    resourcesDir,
    logFile,
    log,
    writeResources,
    stop: () => proc.stop(),
  };
}

async function adminUp(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/api/server_info`).catch(() => undefined);
  return res !== undefined;
}
