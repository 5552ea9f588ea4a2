/**
 * PostTranslateModify and PostVirtualHostModify with 10/100/1000 Tailscale backends: p50/p99 over real
 * gRPC on loopback, side by side with a no-op echo server (same framework, returns the request bytes).
 * The ratio is the figure (DESIGN §7: PostTranslateModify with 1,000 backends, p99 ≤ 1.5× echo).
 * Usage: node dist/bench/extension-hooks.js [--iterations 300]
 */
import * as grpc from '@grpc/grpc-js';
import { BackendIndex, type IndexContent, type TailscaleBackend } from '../extension/backend-index';
import {
  clusterCodec,
  extensionServiceName,
  routeCodec,
  rpcCodecs,
  virtualHostCodec,
} from '../extension/codec';
import { HookHealth } from '../extension/health';
import { createExtensionMetrics } from '../extension/metrics';
import { createExtensionServer, listen } from '../extension/server';
import { newTailscaleCluster } from '../extension/tailscale-cluster';
import { createLogger } from '../runtime/logger';

const identity = (b: Buffer) => b;

function backend(i: number): TailscaleBackend {
  return {
    kind: 'TailscaleServices',
    namespace: 'bench',
    name: `svc-${i}`,
    tailnet: 'corp',
    serviceName: `svc-${i}`,
    labels: {},
    ready: true,
    endpoints: [
      {
        address: `svc-${i}-ep-0.svc-${i}-ep.bench.svc.cluster.local`,
        port: 80,
        locality: 'local',
        healthy: true,
        source: 'a',
      },
      {
        address: `svc-${i}-ep-1.svc-${i}-ep.bench.svc.cluster.local`,
        port: 80,
        locality: 'local',
        healthy: false,
        source: 'b',
      },
      { address: `100.100.${i >> 8}.${i & 255}`, port: 80, locality: 'remote', healthy: true, source: 'vip' },
    ],
  };
}

/** What EG sends after PostClusterModify: one Tailscale cluster per route rule. */
function translateRequest(backends: TailscaleBackend[]): Buffer {
  const clusters = backends.map((b) => {
    const c = newTailscaleCluster(b);
    c.name = `httproute/bench/${b.name}/rule/0`;
    return clusterCodec.encode(c);
  });
  return Buffer.from(rpcCodecs.PostTranslateModify.request.encode({ clusters }));
}

function virtualHostRequest(backends: TailscaleBackend[]): Buffer {
  const routes = backends.map((b) =>
    routeCodec.encode({
      name: `httproute/bench/${b.name}/rule/0/match/0/www_example_com`,
      match: { prefix: `/${b.name}` },
      route: { cluster: `httproute/bench/${b.name}/rule/0` },
    }),
  );
  const virtualHost = virtualHostCodec.encode({
    name: 'bench/eg/http/www_example_com',
    domains: ['www.example.com'],
    routes,
  });
  return Buffer.from(rpcCodecs.PostVirtualHostModify.request.encode({ virtualHost }));
}

function call(client: grpc.Client, hook: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(`/${extensionServiceName}/${hook}`, identity, identity, request, (err, res) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

async function measure(client: grpc.Client, hook: string, request: Buffer, iterations: number) {
  for (let i = 0; i < Math.min(50, iterations); i++) await call(client, hook, request); // warm-up
  const samples: number[] = [];
  let responseBytes = 0;
  for (let i = 0; i < iterations; i++) {
    const started = process.hrtime.bigint();
    responseBytes = (await call(client, hook, request)).length;
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50: at(0.5), p99: at(0.99), responseBytes };
}

async function echoServer(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20 });
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const hook of ['PostTranslateModify', 'PostVirtualHostModify']) {
    definition[hook] = {
      path: `/${extensionServiceName}/${hook}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
    impl[hook] = (c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
      cb(null, c.request);
  }
  server.addService(definition, impl);
  return { server, port: await listen(server, '127.0.0.1:0') };
}

async function main() {
  const iterationsArg = process.argv.indexOf('--iterations');
  const iterations = iterationsArg > 0 ? Number(process.argv[iterationsArg + 1]) : 300;
  const index = new BackendIndex();
  const metrics = createExtensionMetrics({
    size: () => 0,
    ageSeconds: () => 0,
    version: () => 0,
    loaded: () => true,
  });
  const ours = createExtensionServer({
    index,
    logger: createLogger({ level: 'error' }),
    clusterDomain: 'cluster.local',
    metrics,
    health: new HookHealth({ windowMs: 60_000, maxFailureRatio: 0.1, staleAfterMs: 1e12 }),
    maxMessageBytes: 64 << 20,
  });
  const oursPort = await listen(ours, '127.0.0.1:0');
  const echo = await echoServer();
  const options = { 'grpc.max_receive_message_length': 64 << 20 };
  const oursClient = new grpc.Client(`127.0.0.1:${oursPort}`, grpc.credentials.createInsecure(), options);
  const echoClient = new grpc.Client(`127.0.0.1:${echo.port}`, grpc.credentials.createInsecure(), options);

  const rows: string[] = [];
  for (const n of [10, 100, 1000]) {
    const backends = Array.from({ length: n }, (_, i) => backend(i));
    for (const generate of [false, true]) {
      const content: IndexContent = {
        backends,
        gateways: generate
          ? [
              {
                namespace: 'bench',
                name: 'tsgw',
                gateway: { namespace: 'bench', name: 'eg' },
                tailnets: [],
                routeGeneration: { pathPrefix: '/tailscale/{service}/', rewritePrefix: '/' },
              },
            ]
          : [],
        policies: [],
      };
      index.replace(content);
      for (const [hook, request] of [
        ['PostTranslateModify', translateRequest(backends)],
        ['PostVirtualHostModify', virtualHostRequest(backends)],
      ] as const) {
        const a = await measure(oursClient, hook, request, iterations);
        const e = await measure(echoClient, hook, request, iterations);
        rows.push(
          [
            hook.padEnd(22),
            String(n).padStart(5),
            (generate ? 'on' : 'off').padEnd(9),
            `${(request.length / 1024).toFixed(0)}→${(a.responseBytes / 1024).toFixed(0)} KiB`.padEnd(15),
            `${a.p50.toFixed(3)} / ${a.p99.toFixed(3)}`.padEnd(18),
            `${e.p50.toFixed(3)} / ${e.p99.toFixed(3)}`.padEnd(18),
            `${(a.p50 / e.p50).toFixed(2)} / ${(a.p99 / e.p99).toFixed(2)}`,
          ].join('  '),
        );
      }
    }
  }
  console.log(`extension hooks over gRPC on loopback, ${iterations} sequential calls each (ms)`);
  console.log(
    [
      'hook'.padEnd(22),
      'backends',
      'routegen',
      'req→resp'.padEnd(15),
      'ours p50 / p99'.padEnd(18),
      'echo p50 / p99'.padEnd(18),
      'ratio p50 / p99',
    ].join('  '),
  );
  for (const row of rows) console.log(row);
  oursClient.close();
  echoClient.close();
  ours.forceShutdown();
  echo.server.forceShutdown();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
