import * as grpc from '@grpc/grpc-js';
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { BackendIndex } from '../../extension/backend-index';
import { healthCodecs, rpcCodecs } from '../../extension/codec';
import { HookHealth } from '../../extension/health';
import { createSidePortServer } from '../../extension/http-server';
import { createExtensionMetrics } from '../../extension/metrics';
import { createExtensionServer, listen } from '../../extension/server';
import { createLogger } from '../../runtime/logger';
import { egListener, egRoute } from './fixtures';
import { callHook, hookClient } from './grpc-client';

/** The server in-process on loopback, driven as Envoy Gateway would drive it. */
describe('extension server: gRPC hooks and the HTTP side port', () => {
  let index: BackendIndex;
  let server: grpc.Server;
  let client: grpc.Client;
  let http: HttpServer;
  let base: string;

  beforeAll(async () => {
    index = new BackendIndex();
    const metrics = createExtensionMetrics({
      size: () => index.current().size,
      ageSeconds: () => index.ageMs() / 1000,
      version: () => index.current().version,
      loaded: () => index.loaded,
    });
    const health = new HookHealth({ windowMs: 60_000, maxFailureRatio: 0.1, staleAfterMs: 600_000 });
    server = createExtensionServer({
      index,
      logger: createLogger({ level: 'error' }),
      clusterDomain: 'cluster.local',
      metrics,
      health,
      maxMessageBytes: 64 * 1024,
    });
    client = hookClient(await listen(server, '127.0.0.1:0'));
    http = createSidePortServer({ index, metrics, health });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
    http.close();
  });

  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, body: await res.text() };
  };
  const listenerRequest = () => rpcCodecs.PostHTTPListenerModify.request.encode({ listener: egListener() });
  const healthCheck = async () => {
    const res = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(healthCodecs.request.encode({})),
        (err, value) => (err ? reject(err) : resolve(value!)),
      ),
    );
    return healthCodecs.response.decode(res).status;
  };

  it('is not ready, and gRPC health says NOT_SERVING, until the index has loaded', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/ready')).status).toBe(503);
    expect(await healthCheck()).toBe(2);
    index.replace({ backends: [], gateways: [], policies: [] });
    index.markLoaded();
    expect((await get('/ready')).status).toBe(200);
    expect(await healthCheck()).toBe(1);
  });

  it('answers a hook with the listener it was sent', async () => {
    const res = rpcCodecs.PostHTTPListenerModify.response.decode(
      await callHook(client, 'PostHTTPListenerModify', listenerRequest()),
    );
    expect(Buffer.from(res.listener!).equals(Buffer.from(egListener()))).toBe(true);
  });

  it('answers malformed requests with INVALID_ARGUMENT and keeps serving', async () => {
    await expect(
      callHook(client, 'PostTranslateModify', Buffer.from([0x12, 0xff, 0xff, 0x01])),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    const garbageResource = rpcCodecs.PostClusterModify.request.encode({
      cluster: egRoute(),
      postClusterContext: { backendExtensionResources: [{ unstructuredBytes: Buffer.from('{"kind":') }] },
    });
    await expect(callHook(client, 'PostClusterModify', garbageResource)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(callHook(client, 'PostRouteModify', Buffer.alloc(0))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(callHook(client, 'PostHTTPListenerModify', listenerRequest())).resolves.toBeInstanceOf(
      Buffer,
    );
  });

  it('refuses requests over the size limit with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const huge = rpcCodecs.PostTranslateModify.request.encode({ clusters: [new Uint8Array(128 * 1024)] });
    await expect(callHook(client, 'PostTranslateModify', huge)).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
    await expect(callHook(client, 'PostHTTPListenerModify', listenerRequest())).resolves.toBeInstanceOf(
      Buffer,
    );
  });

  it('answers an RPC it does not know with UNIMPLEMENTED', async () => {
    await expect(callHook(client, 'PostNothingModify', Buffer.alloc(0))).rejects.toMatchObject({
      code: grpc.status.UNIMPLEMENTED,
    });
  });

  it('reports degraded on /health once more than 10% of the window failed, and exports per-hook metrics', async () => {
    // So far: 3 invalid out of 6 calls (oversized ones never reach the handler).
    const report = JSON.parse((await get('/health')).body) as {
      status: string;
      window: { calls: number; failures: number };
    };
    expect(report.status).toBe('degraded');
    expect(report.window.failures).toBe(3);
    expect((await get('/health')).status).toBe(503);
    const metrics = (await get('/metrics')).body;
    expect(metrics).toContain(
      'tsgw_extension_hook_requests_total{hook="PostTranslateModify",outcome="invalid"} 1',
    );
    expect(metrics).toMatch(
      // Label order is the exporter's choice (prom-client puts `le` first).
      /tsgw_extension_hook_duration_seconds_bucket\{(?=[^}]*hook="PostHTTPListenerModify")(?=[^}]*le="\+Inf")[^}]*\} [1-9]\d*/,
    );
    expect(metrics).toContain('tsgw_extension_index_loaded 1');
  });
});
