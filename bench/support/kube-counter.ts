/**
 * A loopback HTTP front to the kube-apiserver that counts one client's requests: each operator under
 * comparison gets its own kubeconfig through it, so its Kubernetes writes are its own (the simulators
 * and the benchmark talk to the API server directly). Watches stream through unchanged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface KubeRequestCounts {
  reads: number;
  writes: number;
  /** Writes by `<verb> <resource>[/<subresource>]`, e.g. `PATCH secrets`. */
  writesByResource: Record<string, number>;
}

export interface KubeCounter {
  /** A kubeconfig for the counted client. */
  kubeconfigPath: string;
  counts(): KubeRequestCounts;
  reset(): void;
  close(): Promise<void>;
}

const writeVerbs = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function startKubeCounter(opts: {
  server: string;
  token: string;
  dir: string;
  name: string;
  /**
   * A certificate and key to serve with (the API server's own serves): client-go sends credentials
   * only over TLS.
   */
  tls: { certFile: string; keyFile: string };
}): Promise<KubeCounter> {
  const upstream = new URL(opts.server);
  let counts: KubeRequestCounts = { reads: 0, writes: 0, writesByResource: {} };
  const count = (req: IncomingMessage) => {
    if (!writeVerbs.has(req.method ?? 'GET')) {
      counts.reads++;
      return;
    }
    counts.writes++;
    const key = `${req.method} ${resourceOf(req.url ?? '')}`;
    counts.writesByResource[key] = (counts.writesByResource[key] ?? 0) + 1;
  };
  const tls = { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) };
  const server: Server = createServer(tls, (req, res) => {
    count(req);
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        rejectUnauthorized: false,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const kubeconfigPath = join(opts.dir, `kubeconfig-${opts.name}`);
  writeFileSync(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'counted',
          cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true },
        },
      ],
      users: [{ name: 'admin', user: { token: opts.token } }],
      contexts: [{ name: 'counted', context: { cluster: 'counted', user: 'admin' } }],
      'current-context': 'counted',
    }),
    { mode: 0o600 },
  );
  return {
    kubeconfigPath,
    counts: () => structuredClone(counts),
    reset: () => {
      counts = { reads: 0, writes: 0, writesByResource: {} };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `/api/v1/namespaces/ns/secrets/x` → `secrets`; `/apis/g/v/namespaces/ns/things/x/status` → `things/status`. */
export function resourceOf(url: string): string {
  const parts = new URL(url, 'http://x').pathname.split('/').filter(Boolean);
  const rest = parts.slice(parts[0] === 'api' ? 2 : 3);
  const scoped = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  return scoped[2] ? `${scoped[0]}/${scoped[2]}` : (scoped[0] ?? '');
}
