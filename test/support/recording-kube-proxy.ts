import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface RecordedExchange {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  accept: string;
  status: number;
  /** The response body received so far (a watch's keeps growing while it is open). */
  body(): string;
}

/**
 * A plain-HTTP pass-through to the real API server that records every response body: what a client
 * given `kubeConfig` actually received, list pages and watch streams alike.
 */
export async function startRecordingKubeProxy(
  upstream: KubeConfig,
): Promise<{ kubeConfig: KubeConfig; exchanges: RecordedExchange[]; close(): Promise<void> }> {
  const server = upstream.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const exchanges: RecordedExchange[] = [];
  const proxy: Server = createServer((req, res) => {
    void (async () => {
      const opts: Parameters<typeof request>[1] = { method: req.method, headers: {} };
      await upstream.applyToHTTPSOptions(opts);
      // The harness's credentials (the client has none); everything else as the client sent it.
      const headers = { ...req.headers, ...opts.headers, host: new URL(server).host };
      const chunks: Buffer[] = [];
      const upstreamReq = request(new URL(req.url ?? '/', server), { ...opts, headers }, (up) => {
        exchanges.push({
          method: req.method ?? '',
          url: req.url ?? '',
          accept: String(req.headers.accept ?? ''),
          status: up.statusCode ?? 0,
          body: () => Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (c: Buffer) => {
          chunks.push(c);
          res.write(c);
        });
        up.on('end', () => res.end());
        up.on('error', () => res.destroy());
      });
      upstreamReq.on('error', () => res.destroy());
      res.on('close', () => upstreamReq.destroy());
      req.pipe(upstreamReq);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'recorded', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'recorded' }],
    contexts: [{ name: 'recorded', cluster: 'recorded', user: 'recorded' }],
    currentContext: 'recorded',
  });
  return {
    kubeConfig,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}
