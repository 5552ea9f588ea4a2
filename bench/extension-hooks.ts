/**
 * PostTranslateModify and PostVirtualHostModify with 10/100/1000 Tailscale backends: p50/p99 over real
 * gRPC on loopback, side by side with a no-op echo server (same framework, answering with the bytes our
 * server answers the same request with).
 * The ratio is the figure (docs/architecture.md §7: PostTranslateModify with 1,000 backends, p99 ≤ 1.5× echo).
 * Usage: node dist/bench/extension-hooks.js [--iterations 1000] [--sizes 10,100,1000]
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
import { parseFlags, runMain, saveResult, table } from './support/report';

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

interface Latency {
  p50: number;
  p99: number;
  responseBytes: number;
}

/**
 * Ours and the echo, call for call in alternation, so load from anything else on the machine falls on
 * both alike (the ratio is the figure).
 */
async function measurePair(
  ours: grpc.Client,
  echo: grpc.Client,
  hook: string,
  request: Buffer,
  iterations: number,
): Promise<{ ours: Latency; echo: Latency }> {
  for (let i = 0; i < Math.min(50, iterations); i++) {
    await call(ours, hook, request); // warm-up
    await call(echo, hook, request);
  }
  const samples = { ours: [] as number[], echo: [] as number[] };
  const bytes = { ours: 0, echo: 0 };
  for (let i = 0; i < iterations; i++) {
    for (const [side, client] of (i % 2
      ? [
          ['echo', echo],
          ['ours', ours],
        ]
      : [
          ['ours', ours],
          ['echo', echo],
        ]) as ['ours' | 'echo', grpc.Client][]) {
      const started = process.hrtime.bigint();
      bytes[side] = (await call(client, hook, request)).length;
      samples[side].push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }
  const stats = (list: number[], responseBytes: number): Latency => {
    list.sort((a, b) => a - b);
    const at = (q: number) => list[Math.min(list.length - 1, Math.ceil(q * list.length) - 1)]!;
    return { p50: at(0.5), p99: at(0.99), responseBytes };
  };
  return { ours: stats(samples.ours, bytes.ours), echo: stats(samples.echo, bytes.echo) };
}

/**
 * The no-op: answers every call with preset bytes, our server's response to the same request, so both
 * sides move the same payload over the same gRPC and only our decoding and building differ.
 */
async function echoServer(): Promise<{ server: grpc.Server; port: number; reply: (bytes: Buffer) => void }> {
  let preset: Buffer | undefined;
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
      cb(null, preset ?? c.request);
  }
  server.addService(definition, impl);
  return {
    server,
    port: await listen(server, '127.0.0.1:0'),
    reply: (bytes) => {
      preset = bytes;
    },
  };
}

export const hooksDefaults = { iterations: 1000, sizes: '10,100,1000' };
export type HooksOptions = typeof hooksDefaults;

export interface HookRow {
  hook: string;
  backends: number;
  routeGeneration: boolean;
  requestKiB: number;
  responseKiB: number;
  ours: { p50: number; p99: number };
  echo: { p50: number; p99: number };
  ratioP50: number;
  ratioP99: number;
}

export async function runHooks(opts: HooksOptions): Promise<{ iterations: number; rows: HookRow[] }> {
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

  const rows: HookRow[] = [];
  try {
    for (const n of opts.sizes.split(',').map(Number)) {
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
          echo.reply(await call(oursClient, hook, request));
          const m = await measurePair(oursClient, echoClient, hook, request, opts.iterations);
          rows.push({
            hook,
            backends: n,
            routeGeneration: generate,
            requestKiB: Math.round(request.length / 1024),
            responseKiB: Math.round(m.ours.responseBytes / 1024),
            ours: { p50: m.ours.p50, p99: m.ours.p99 },
            echo: { p50: m.echo.p50, p99: m.echo.p99 },
            ratioP50: m.ours.p50 / m.echo.p50,
            ratioP99: m.ours.p99 / m.echo.p99,
          });
        }
      }
    }
  } finally {
    oursClient.close();
    echoClient.close();
    ours.forceShutdown();
    echo.server.forceShutdown();
  }
  return { iterations: opts.iterations, rows };
}

export function printHooks(f: Awaited<ReturnType<typeof runHooks>>): string {
  return [
    `extension hooks over gRPC on loopback, ${f.iterations} calls each, ours and echo alternating (ms; target PostTranslateModify × 1000: p99 ratio ≤ 1.5)`,
    table(
      [
        'hook',
        'backends',
        'routegen',
        'req→resp KiB',
        'ours p50',
        'ours p99',
        'echo p50',
        'echo p99',
        'ratio p50',
        'ratio p99',
      ],
      f.rows.map((r) => [
        r.hook,
        r.backends,
        r.routeGeneration ? 'on' : 'off',
        `${r.requestKiB}→${r.responseKiB}`,
        r.ours.p50,
        r.ours.p99,
        r.echo.p50,
        r.echo.p99,
        r.ratioP50,
        r.ratioP99,
      ]),
    ),
  ].join('\n');
}

async function main() {
  const opts = parseFlags(process.argv.slice(2), hooksDefaults);
  const figures = await runHooks(opts);
  console.log(printHooks(figures));
  console.log(`→ ${saveResult('extension-hooks', opts, figures)}`);
}

if (require.main === module) runMain(main);
