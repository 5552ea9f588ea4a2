/**
 * Kubernetes API requests as the API server counts them (`apiserver_request_total` on its /metrics),
 * summed by verb, or by verb and resource (`GET secrets`). Everyone's requests are in it (the
 * benchmark's own watches and the proxy simulator too): a difference over a window is an upper bound of
 * what the operator cost.
 */
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export type RequestCounts = Record<string, number>;

export async function kubeRequestCounts(
  kc: KubeConfig,
  { byResource = false }: { byResource?: boolean } = {},
): Promise<RequestCounts> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const opts: import('node:https').RequestOptions = {
    hostname: server.hostname,
    port: server.port,
    path: '/metrics',
    method: 'GET',
  };
  await kc.applyToHTTPSOptions(opts);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics: HTTP ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
  const out: RequestCounts = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([^"]+)"/.exec(line)?.[1] ?? '?';
    const key = byResource ? `${verb} ${/resource="([^"]*)"/.exec(line)?.[1] ?? '?'}` : verb;
    out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** `after - before` per key, with a `total` and `writes` (everything but GET, LIST, WATCH). */
export function requestDelta(before: RequestCounts, after: RequestCounts) {
  const byKey: RequestCounts = {};
  for (const key of Object.keys(after)) {
    const d = after[key]! - (before[key] ?? 0);
    if (d > 0) byKey[key] = d;
  }
  const total = Object.values(byKey).reduce((a, b) => a + b, 0);
  const reads = Object.entries(byKey)
    .filter(([key]) => ['GET', 'LIST', 'WATCH'].includes(key.split(' ')[0]!))
    .reduce((n, [, d]) => n + d, 0);
  return { byKey, total, writes: total - reads };
}
