/**
 * The extension server process: index fed by watches, gRPC for Envoy Gateway, HTTP side port.
 */
import { once } from 'node:events';
import { loadKubeConfig } from '../runtime/kube';
import { createLogger } from '../runtime/logger';
import { startTracing } from '../runtime/tracing';
import { collectProcessMetrics, metricsRegistry } from '../runtime/metrics';
import { BackendIndex } from './backend-index';
import { loadExtensionConfig, splitHostPort } from './config';
import { HookHealth } from './health';
import { createSidePortServer } from './http-server';
import { IndexFeed } from './index-feed';
import { createExtensionMetrics } from './metrics';
import { createExtensionServer, listen } from './server';
import { serverCredentials } from './tls';

async function main() {
  const config = loadExtensionConfig();
  const logger = createLogger({ fields: { component: 'extension' } });
  const tracing = startTracing('extension');
  const index = new BackendIndex();
  collectProcessMetrics();
  const metrics = createExtensionMetrics(
    {
      size: () => index.current().size,
      ageSeconds: () => index.ageMs() / 1000,
      version: () => index.current().version,
      loaded: () => index.loaded,
    },
    metricsRegistry,
  );
  const health = new HookHealth({
    windowMs: config.healthWindowMs,
    maxFailureRatio: 0.1,
    staleAfterMs: config.indexStaleAfterMs,
  });

  const feed = new IndexFeed({
    kc: loadKubeConfig(config.kubeconfigPath),
    index,
    logger,
    clusterDomain: config.clusterDomain,
    resyncIntervalMs: config.resyncIntervalMs,
    namespaces: config.watchNamespaces,
    labelSelector: config.watchLabelSelector,
  });
  feed.start();

  const grpcServer = createExtensionServer({
    index,
    logger,
    clusterDomain: config.clusterDomain,
    metrics,
    health,
    maxMessageBytes: config.maxMessageBytes,
    callLimits: { maxInFlight: config.maxConcurrentCalls, maxQueued: config.maxQueuedCalls },
  });
  const grpcPort = await listen(grpcServer, config.grpcAddress, serverCredentials(config.tls));

  const http = createSidePortServer({ index, metrics, health });
  const { host, port } = splitHostPort(config.httpAddress);
  http.listen(port, host);
  await once(http, 'listening');
  const httpAddress = http.address();
  logger.info('extension server started', {
    grpcPort,
    httpPort: typeof httpAddress === 'object' && httpAddress ? httpAddress.port : port,
    maxMessageBytes: config.maxMessageBytes,
    maxConcurrentCalls: config.maxConcurrentCalls,
    maxQueuedCalls: config.maxQueuedCalls,
    tls: !config.tls ? 'off' : config.tls.clientCaFile ? 'mutual' : 'server',
  });

  const shutdown = async (signal: string) => {
    logger.info('shutting down', { signal });
    http.close();
    await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
    await feed.stop();
    await tracing?.shutdown();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    createLogger({ fields: { component: 'extension' } }).error('extension server failed to start', {
      error: err,
    });
    process.exit(1);
  });
}
