/**
 * A real Envoy Gateway in standalone mode for tests: file resource provider (a directory of Gateway API
 * YAML, watched), Host infrastructure (no Kubernetes), and the extension manager pointed at our server
 * on loopback. No Envoy proxy is needed: EG translates and calls the hooks whether or not an Envoy is
 * connected (its attempt to download one fails offline, is logged, and EG keeps running).
 *
 * With `kubernetes`, EG watches the test API server instead of files, still on Host infrastructure. That
 * is the mode extension TLS needs: EG reads extensionManager.service.tls Secrets through its Kubernetes
 * client only. In it EG also loads its own serving certificates from the fixed path /certs, so it runs in
 * a private user + mount namespace whose root is the host's root with /certs (certgen's output) and
 * /etc/hosts (extension hostnames -> 127.0.0.1) bound over it; nothing on the host changes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot } from '../../runtime/paths';
import { acquireMachineLock } from './machine-lock';
import { freePort } from './ports';
import { spawnManaged, waitUntil, type ManagedProcess } from './process';

/** EG's xDS server port; a constant in EG (not configurable), so one EG per machine at a time. */
export const envoyGatewayXdsPort = 18000;
/**
 * How long a start waits for another test's EG to stop (EG's ports are fixed, see above). Callers' set-up
 * timeouts allow for it.
 */
export const envoyGatewayLockWaitMs = 6 * 60_000;

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
  /** Objects written as resources.yaml in the watched directory (file mode). */
  resources: Record<string, unknown>[];
  /** Watch this API server (objects in `namespace`, EG's own namespace too) instead of the directory. */
  kubernetes?: { kubeconfigPath: string; namespace: string };
  /** The extensionManager service block instead of 127.0.0.1:extensionPort; its fqdn resolves to 127.0.0.1. */
  extensionService?: { fqdn: { hostname: string; port: number }; tls?: Record<string, unknown> };
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
  const release = await acquireMachineLock('envoy-gateway', envoyGatewayLockWaitMs);
  try {
    return await startLocked(binary, opts, release);
  } catch (err) {
    release();
    throw err;
  }
}

async function startLocked(
  binary: string,
  opts: EnvoyGatewayOptions,
  release: () => void,
): Promise<EnvoyGateway> {
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
        resource: opts.kubernetes
          ? {
              type: 'Kubernetes',
              kubernetes: {
                watch: { type: 'Namespaces', namespaces: [opts.kubernetes.namespace] },
                leaderElection: { disable: true },
              },
            }
          : { type: 'File', file: { paths: [resourcesDir] } },
        infrastructure: {
          type: 'Host',
          host: { configHome, dataHome: home('data'), stateHome: home('state'), runtimeDir: home('run') },
        },
      },
    },
    extensionApis: { enableBackend: true },
    extensionManager: {
      ...opts.extensionManager,
      service: opts.extensionService ?? { fqdn: { hostname: '127.0.0.1', port: opts.extensionPort } },
    },
  };
  const configPath = join(opts.dir, 'envoy-gateway.yaml');
  writeFileSync(configPath, stringify(config));
  const writeResources = (objects: Record<string, unknown>[]) =>
    writeFileSync(join(resourcesDir, 'resources.yaml'), objects.map((o) => stringify(o)).join('---\n'));
  writeResources(opts.resources);

  const logFile = join(opts.dir, 'envoy-gateway.log');
  const serverArgs = ['server', '--config-path', configPath];
  // HOME too: func-e falls back to it for its own directories.
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home('home') };
  let command = binary;
  let args = serverArgs;
  if (opts.kubernetes) {
    env.KUBECONFIG = opts.kubernetes.kubeconfigPath;
    env.ENVOY_GATEWAY_NAMESPACE = opts.kubernetes.namespace;
    const hosts = join(opts.dir, 'hosts');
    const names = opts.extensionService ? [opts.extensionService.fqdn.hostname] : [];
    writeFileSync(hosts, `127.0.0.1 localhost ${names.join(' ')}\n::1 localhost\n`);
    [command, args] = [
      'unshare',
      [
        '-Urm',
        'sh',
        '-c',
        privateRoot,
        'sh',
        home('root'),
        join(configHome, 'certs', 'envoy-gateway'),
        hosts,
        binary,
        ...serverArgs,
      ],
    ];
  }
  const proc = spawnManaged({ name: 'envoy-gateway', command, args, logFile, env });
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
    stop: async () => {
      await proc.stop();
      release();
    },
  };
}

/**
 * Runs the command after the three path arguments with / replaced by a tmpfs holding bind mounts of every
 * top-level entry of the real root, plus /certs ($2) and /etc/hosts ($3) bound over it; $1 is the (empty)
 * directory that becomes the root. Needs unprivileged user namespaces (`unshare -Urm true` must work).
 * Entering the user namespace drops the parent-death signal, so it is set again for the process that
 * becomes EG.
 */
const privateRoot = `set -e
root=$1 certs=$2 hosts=$3
shift 3
mount -t tmpfs tmpfs "$root"
for entry in /*; do
  name=\${entry#/}
  if [ -L "$entry" ]; then cp -P "$entry" "$root/$name"
  elif [ -d "$entry" ]; then mkdir "$root/$name"; mount --rbind "$entry" "$root/$name"
  else touch "$root/$name"; mount --bind "$entry" "$root/$name"; fi
done
mkdir -p "$root/certs"
mount --bind "$certs" "$root/certs"
mount --bind "$hosts" "$root/etc/hosts"
exec setpriv --pdeathsig KILL -- chroot "$root" "$@"`;

async function adminUp(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/api/server_info`).catch(() => undefined);
  return res !== undefined;
}
