import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../runtime/paths';

/** Mirrors tools/setup.sh: every provisioned tool lives in the cache, keyed by its pinned version. */
export function cacheDir(): string {
  return process.env.TSGW_CACHE_DIR ?? join(homedir(), '.cache', 'tailscale-gateway-operator');
}

export function pinnedVersion(tool: 'kubernetes' | 'temporal-cli' | 'gateway-api'): string {
  return readFileSync(join(repoRoot(), 'tools', 'versions', tool), 'utf8').trim();
}

export function toolPaths() {
  const cache = cacheDir();
  const controlplane = join(cache, 'controlplane', pinnedVersion('kubernetes'));
  return {
    temporal: join(cache, 'temporal-cli', pinnedVersion('temporal-cli'), 'bin', 'temporal'),
    kubeApiserver: join(controlplane, 'kube-apiserver'),
    etcd: join(controlplane, 'etcd'),
    gatewayApiCrds: join(cache, 'gateway-api', pinnedVersion('gateway-api')),
  };
}
