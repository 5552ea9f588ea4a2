import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { toolPaths } from './paths';
import { freePort } from './ports';
import { spawnManaged, waitUntil, type ManagedProcess } from './process';

export interface ControlPlaneOptions {
  dir: string;
  /**
   * The API server closes each watch after a random time between this and twice this (seconds). Tests
   * keep it low so every informer goes through its reconnect path many times per run.
   */
  minRequestTimeoutSeconds?: number;
  /** Fixed ports (the local stack keeps them stable across restarts); free ones are picked otherwise. */
  ports?: { apiserver?: number; etcd?: number; etcdPeer?: number };
}

export interface ControlPlane {
  server: string;
  token: string;
  kubeconfigPath: string;
  etcdUrl: string;
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

/**
 * A real etcd + kube-apiserver on loopback, envtest-style: no controller-manager, scheduler or kubelet,
 * so no garbage collection and no pods, but real validation, admission, RBAC, SSA, watches and 410s.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const tools = toolPaths();
  mkdirSync(opts.dir, { recursive: true });
  const etcdPort = opts.ports?.etcd ?? (await freePort());
  const peerPort = opts.ports?.etcdPeer ?? (await freePort());
  const apiPort = opts.ports?.apiserver ?? (await freePort());
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;

  const etcd = spawnManaged({
    name: 'etcd',
    command: tools.etcd,
    args: [
      `--data-dir=${join(opts.dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    logFile: join(opts.dir, 'etcd.log'),
  });

  const token = randomBytes(24).toString('hex');
  writeFileSync(join(opts.dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(opts.dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(opts.dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  const server = `https://127.0.0.1:${apiPort}`;

  const apiserver = spawnManaged({
    name: 'kube-apiserver',
    command: tools.kubeApiserver,
    args: [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(opts.dir, 'certs')}`,
      // Room for bench/peer.ts's 1,000+ Services of Tailscale's operator (one ClusterIP each).
      '--service-cluster-ip-range=10.0.0.0/16',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      `--token-auth-file=${join(opts.dir, 'tokens.csv')}`,
      '--disable-admission-plugins=ServiceAccount',
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${join(opts.dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(opts.dir, 'sa.key')}`,
      '--endpoint-reconciler-type=none',
      `--min-request-timeout=${opts.minRequestTimeoutSeconds ?? 1800}`,
      '--v=0',
    ],
    logFile: join(opts.dir, 'kube-apiserver.log'),
  });
  const processes = [apiserver, etcd];
  const stop = async () => {
    for (const p of processes) await p.stop();
  };

  try {
    await waitUntil('kube-apiserver /readyz', () => httpsOk(`${server}/readyz`, token), {
      timeoutMs: 120_000,
      process: apiserver,
      intervalMs: 250,
    });
  } catch (err) {
    await stop();
    throw err;
  }

  const kubeconfigPath = join(opts.dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'admin' } }],
      'current-context': 'local',
    }),
    { mode: 0o600 },
  );
  return { server, token, kubeconfigPath, etcdUrl, processes, stop };
}

function httpsOk(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.setTimeout(2000, () => req.destroy());
    req.end();
  });
}
