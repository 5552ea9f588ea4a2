import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

export interface ApiServerProxyStats {
  requests: number;
  watches: number;
  /** Connections destroyed by `cut()` or `dropWatches()`. */
  dropped: number;
  /** Requests refused (socket destroyed on arrival) while cut. */
  refused: number;
  /** Watches whose resourceVersion was rewritten so the API server answers 410 Gone. */
  expired: number;
}

export interface ApiServerProxy {
  url: string;
  /** A kubeconfig for the proxy, with the test API server's credentials. */
  kubeconfigPath: string;
  stats: ApiServerProxyStats;
  /** Drops every open connection and refuses new ones until `restore()`: an API server outage. */
  cut(): void;
  restore(): void;
  /** Drops the open watch streams once (the proxy stays up): a connection reset mid-watch. */
  dropWatches(): number;
  /**
   * Compaction, as seen by clients: from now on a watch from any resourceVersion up to the current one
   * asks the real API server for resourceVersion 1, far older than it keeps, so it answers 410 Gone.
   */
  compact(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A plain-HTTP reverse proxy on loopback in front of the test API server (HTTPS), for the watchers
 * only: it can cut every connection, drop watch streams, and make the real API server answer 410.
 */
export async function startApiServerProxy(kc: KubeConfig, kubeconfigPath: string): Promise<ApiServerProxy> {
  const upstream = new URL(kc.getCurrentCluster()?.server ?? '');
  const token = kc.getCurrentUser()?.token ?? '';
  const stats: ApiServerProxyStats = { requests: 0, watches: 0, dropped: 0, refused: 0, expired: 0 };
  const open = new Set<{ socket: Socket; watch: boolean }>();
  let cut = false;
  let compactedUpTo = 0n;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (cut) {
      stats.refused++;
      req.socket.destroy();
      return;
    }
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://proxy');
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    if (watch) {
      stats.watches++;
      const rv = url.searchParams.get('resourceVersion');
      if (rv && /^\d+$/.test(rv) && BigInt(rv) <= compactedUpTo) {
        stats.expired++;
        url.searchParams.set('resourceVersion', '1');
      }
    }
    const entry = { socket: req.socket, watch };
    open.add(entry);
    const forget = () => open.delete(entry);
    res.once('close', forget);
    const upstreamReq = httpsRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: url.pathname + url.search,
        headers: { ...req.headers, host: upstream.host },
        rejectUnauthorized: false,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', () => req.socket.destroy());
    res.once('close', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
  };

  const server: Server = createServer(handle);
  server.on('connection', (socket) => {
    if (cut) {
      stats.refused++;
      socket.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'proxy', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'admin' } }],
      'current-context': 'proxy',
    }),
    { mode: 0o600 },
  );

  const drop = (which: (e: { watch: boolean }) => boolean) => {
    let n = 0;
    for (const entry of [...open]) {
      if (!which(entry)) continue;
      entry.socket.destroy();
      open.delete(entry);
      n++;
    }
    stats.dropped += n;
    return n;
  };
  return {
    url,
    kubeconfigPath,
    stats,
    cut() {
      cut = true;
      drop(() => true);
    },
    restore() {
      cut = false;
    },
    dropWatches: () => drop((e) => e.watch),
    async compact() {
      const list = (await kc.makeApiClient(CoreV1Api).listNamespace({ limit: 1 })).metadata;
      compactedUpTo = BigInt(list?.resourceVersion ?? '0');
    },
    async close() {
      drop(() => true);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
