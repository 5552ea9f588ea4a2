/**
 * Tailscale's own Kubernetes operator (tailscale.com/cmd/k8s-operator, built by `tools/setup.sh
 * tailscale-operator`) as a process against the bench stack: its CRDs applied, its tsnet node logged in
 * to the loopback tailnet of tools/peer (Tailscale's test control server + DERP), and its Tailscale API
 * client on the same front, which forwards /api/v2/ to the benchmark's Tailscale simulator.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { repoRoot } from '../../runtime/paths';
import { applyManifests, readManifestDir, waitForCrdsEstablished } from '../../tools/stack/apply';
import { cacheDir } from '../../tools/stack/paths';
import { spawnManaged, waitUntil, type ManagedProcess } from '../../tools/stack/process';

export function peerPaths() {
  const version = readFileSync(join(repoRoot(), 'tools', 'versions', 'tailscale-operator'), 'utf8').trim();
  const operatorDir = join(cacheDir(), 'k8s-operator', version);
  // Keyed like tools/setup.sh setup_peer: a hash of go.mod, go.sum and the Go files, in that order.
  const src = join(repoRoot(), 'tools', 'peer');
  const hash = createHash('sha256');
  for (const f of [
    'go.mod',
    'go.sum',
    ...readdirSync(src)
      .filter((f) => f.endsWith('.go'))
      .sort(),
  ])
    hash.update(readFileSync(join(src, f)));
  return {
    version,
    operator: join(operatorDir, 'k8s-operator'),
    crds: join(operatorDir, 'crds'),
    peer: join(cacheDir(), 'peer', hash.digest('hex').slice(0, 16), 'peer'),
  };
}

export async function installPeerCrds(kc: KubeConfig): Promise<void> {
  const crds = readManifestDir(peerPaths().crds);
  await applyManifests(kc, crds);
  await waitForCrdsEstablished(
    kc,
    crds.map((c) => c.metadata!.name!),
  );
}

export interface PeerOperator {
  /** OPERATOR_LOGIN_SERVER: the front of tools/peer. */
  loginServer: string;
  operator: ManagedProcess;
  front: ManagedProcess;
  logDir: string;
  stop(): Promise<void>;
}

export async function startPeerOperator(opts: {
  dir: string;
  kubeconfigPath: string;
  namespace: string;
  tailscaleUrl: string;
  dnsSuffix: string;
  oauth: { id: string; secret: string };
  /** Tags of the proxies' devices and VIP services (PROXY_TAGS). */
  proxyTags: string[];
}): Promise<PeerOperator> {
  const paths = peerPaths();
  const logDir = join(opts.dir, 'peer-operator');
  mkdirSync(logDir, { recursive: true });
  const front = spawnManaged({
    name: 'peer-front',
    command: paths.peer,
    args: ['--api', opts.tailscaleUrl, '--magic-dns', opts.dnsSuffix],
    logFile: join(logDir, 'front.log'),
  });
  let loginServer = '';
  front.child.stdout?.on('data', (chunk: Buffer) => {
    const line = chunk
      .toString()
      .split('\n')
      .find((l) => l.startsWith('{'));
    if (line && !loginServer) loginServer = (JSON.parse(line) as { url: string }).url;
  });
  await waitUntil('tools/peer front', () => Promise.resolve(loginServer !== ''), {
    timeoutMs: 30_000,
    process: front,
    intervalMs: 50,
  });
  // Static OAuth client credentials, as mounted from the operator's Secret in a real install.
  const credentials = join(logDir, 'oauth');
  mkdirSync(credentials, { recursive: true, mode: 0o700 });
  writeFileSync(join(credentials, 'client_id'), opts.oauth.id, { mode: 0o600 });
  writeFileSync(join(credentials, 'client_secret'), opts.oauth.secret, { mode: 0o600 });
  const home = join(logDir, 'home');
  mkdirSync(home, { recursive: true });
  const operator = spawnManaged({
    name: 'k8s-operator',
    command: paths.operator,
    args: [],
    env: {
      PATH: process.env.PATH,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      KUBECONFIG: opts.kubeconfigPath,
      OPERATOR_NAMESPACE: opts.namespace,
      OPERATOR_LOGIN_SERVER: loginServer,
      OPERATOR_HOSTNAME: 'tailscale-operator',
      CLIENT_ID_FILE: join(credentials, 'client_id'),
      CLIENT_SECRET_FILE: join(credentials, 'client_secret'),
      PROXY_TAGS: opts.proxyTags.join(','),
      OPERATOR_LOGGING: process.env.TSGW_BENCH_PEER_LOGGING ?? 'info',
      // No log uploads to log.tailscale.com from a benchmark.
      TS_NO_LOGS_NO_SUPPORT: 'true',
    },
    logFile: join(logDir, 'operator.log'),
  });
  return {
    loginServer,
    operator,
    front,
    logDir,
    async stop() {
      await operator.stop();
      await front.stop();
    },
  };
}
