/**
 * The HTTP side port: /metrics (Prometheus), /healthz (the process answers), /ready (the index has
 * loaded: before that hooks would answer from an empty view), /health (JSON report; 503 when degraded).
 */
import { createServer, type Server } from 'node:http';
import type { BackendIndex } from './backend-index';
import type { HookHealth } from './health';
import type { ExtensionMetrics } from './metrics';

export interface SidePortOptions {
  index: BackendIndex;
  metrics: ExtensionMetrics;
  health: HookHealth;
}

export function healthReportOf(opts: SidePortOptions) {
  const snapshot = opts.index.current();
  return opts.health.report({
    loaded: opts.index.loaded,
    ageMs: opts.index.ageMs(),
    version: snapshot.version,
    objects: snapshot.size,
  });
}

export function createSidePortServer(opts: SidePortOptions): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    switch (path) {
      case '/metrics':
        return void opts.metrics.registry.metrics().then(
          (text) => send(200, text, opts.metrics.registry.contentType),
          (err: unknown) =>
            send(500, `metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
        );
      case '/healthz':
        return send(200, 'ok\n');
      case '/ready':
        return opts.index.loaded ? send(200, 'ready\n') : send(503, 'index not loaded\n');
      case '/health': {
        const report = healthReportOf(opts);
        return send(report.status === 'ok' ? 200 : 503, JSON.stringify(report) + '\n', 'application/json');
      }
      default:
        return send(404, 'not found\n');
    }
  });
}
