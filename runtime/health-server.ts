/**
 * A tiny HTTP server for the worker's and the watchers' Kubernetes probes and Prometheus: `/healthz`
 * answers while the event loop runs, `/ready` asks the process, `/metrics` renders its metrics. Off
 * unless HEALTH_ADDRESS is set (the Helm chart sets it; local runs and tests start several processes on
 * one machine and need no port).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { ConfigError } from './config';
import type { Logger } from './logger';
import { metricsContentType } from './metrics';

/** `undefined` is ready; a string is the reason the process is not ready yet. */
export type ReadinessCheck = () => string | undefined;

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export function healthAddressFromEnv(
  env: Record<string, string | undefined> = process.env,
): { host: string; port: number } | undefined {
  const raw = env.HEALTH_ADDRESS?.trim();
  if (!raw) return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new ConfigError(`HEALTH_ADDRESS=${JSON.stringify(raw)} must be host:port, e.g. 0.0.0.0:8080`);
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** The exposition text served on `/metrics`. */
export type MetricsSource = () => Promise<string>;

export function createHealthServer(ready: ReadinessCheck, metrics?: MetricsSource): Server {
  return createServer((req, res) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body.endsWith('\n') ? body : body + '\n');
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    switch ((req.url ?? '/').split('?')[0]) {
      case '/healthz':
        return send(200, 'ok');
      case '/ready': {
        const reason = ready();
        return reason === undefined ? send(200, 'ready') : send(503, reason);
      }
      case '/metrics':
        if (!metrics) return send(404, 'not found');
        return void metrics().then(
          (text) => send(200, text, metricsContentType),
          (err: unknown) => send(500, `metrics failed: ${err instanceof Error ? err.message : String(err)}`),
        );
      default:
        return send(404, 'not found');
    }
  });
}

/** Starts the probe server when HEALTH_ADDRESS is set; resolves to undefined otherwise. */
export async function startHealthServerFromEnv(opts: {
  ready: ReadinessCheck;
  metrics?: MetricsSource;
  logger: Logger;
  env?: Record<string, string | undefined>;
}): Promise<HealthServer | undefined> {
  const address = healthAddressFromEnv(opts.env);
  if (!address) return undefined;
  const server = createHealthServer(opts.ready, opts.metrics);
  server.listen(address.port, address.host);
  await once(server, 'listening');
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  opts.logger.info('health server listening', { host: address.host, port });
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
