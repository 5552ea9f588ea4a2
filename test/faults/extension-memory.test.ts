/**
 * Case 9b: the extension server process (`node dist/extension/main.js`, with the chart's default limits)
 * under 40 concurrent 15 MiB requests of each expensive shape, and more calls than it may hold. Its
 * peak RSS (VmHWM, which the kernel keeps, so no sample can miss the peak) stays under the chart's
 * memory limit (read from deploy/chart/values.yaml), every call is answered, and valid calls are still
 * answered exactly afterwards.
 *
 * Guards: the call gate (extension/call-gate.ts: at most maxConcurrentCalls request bodies read at once,
 * maxQueuedCalls waiting with their bodies unread, RESOURCE_EXHAUSTED beyond), the chart's V8 heap cap
 * (extension.nodeOptions) and grpc.max_receive_message_length. Without the gate the same load peaked at 1.3–2.1 GiB.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { parse } from 'yaml';
import { extensionServiceName, rpcCodecs } from '../../extension/codec';
import { repoRoot } from '../../runtime/paths';
import type { ManagedProcess } from '../../tools/stack/process';
import { egListener } from '../extension/fixtures';
import { startExtensionProcess } from '../support/extension-process';
import { createTestNamespace, stackInfo, testKubeConfig, uniqueName } from '../support/stack';

interface ExtensionValues {
  maxMessageBytes: number;
  maxConcurrentCalls: number;
  maxQueuedCalls: number;
  nodeOptions: string;
  resources: { limits: { memory: string } };
}

const chartExtension = (
  parse(readFileSync(join(repoRoot(), 'deploy', 'chart', 'values.yaml'), 'utf8')) as {
    extension: ExtensionValues;
  }
).extension;

/** A Kubernetes memory quantity (binary or decimal suffix) in bytes. */
function quantityBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(q);
  if (!m) throw new Error(`unsupported memory quantity ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

const memoryLimit = quantityBytes(chartExtension.resources.limits.memory);
const requestBytes = 15 * 1024 * 1024;
const concurrent = 40;

/** VmRSS and VmHWM of a process, in bytes. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** `count` copies of `item` as repeated field `field`, stopping before `bytes`. */
function repeated(field: number, item: Uint8Array, bytes: number): Buffer {
  const one = protobuf.Writer.create()
    .uint32((field << 3) | 2)
    .bytes(item)
    .finish();
  return Buffer.concat(Array.from({ length: Math.floor(bytes / one.length) }, () => one));
}

/**
 * The shapes that cost most per byte: a virtual host of tiny routes (PostVirtualHostModify decodes
 * every route into objects), every cluster of a translation (PostTranslateModify answers with them all),
 * and bytes that are no protobuf at all.
 */
const shapes: Record<string, { hook: string; body: () => Buffer }> = {
  'virtual host of tiny routes': {
    hook: 'PostVirtualHostModify',
    body: () => {
      // Route.name (14) and Route.match (1) { prefix (1): "/" }.
      const route = protobuf.Writer.create()
        .uint32((14 << 3) | 2)
        .string('r')
        .uint32((1 << 3) | 2)
        .bytes(Buffer.from([0x0a, 0x01, 0x2f]))
        .finish();
      const virtualHost = repeated(3, route, requestBytes - 16);
      return Buffer.from(rpcCodecs.PostVirtualHostModify.request.encode({ virtualHost }));
    },
  },
  'translation of small clusters': {
    hook: 'PostTranslateModify',
    body: () => {
      const cluster = protobuf.Writer.create()
        .uint32((1 << 3) | 2)
        .string('c'.repeat(40))
        .finish();
      return repeated(2, cluster, requestBytes);
    },
  },
  'garbage bytes': { hook: 'PostRouteModify', body: () => Buffer.alloc(requestBytes, 0x0a) },
};

describe('extension server memory under concurrent oversized requests', () => {
  let server: ManagedProcess;
  let grpcPort: number;
  const clients: grpc.Client[] = [];

  /** A client on its own HTTP/2 connection (grpc-js shares one per target otherwise). */
  const newClient = () => {
    const c = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
      'grpc.use_local_subchannel_pool': 1,
    });
    clients.push(c);
    return c;
  };

  /** A call's fate: 'ok' or the gRPC status name. */
  const outcome = (c: grpc.Client, hook: string, request: Buffer): Promise<string> =>
    new Promise((resolve) => {
      c.makeUnaryRequest(
        `/${extensionServiceName}/${hook}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        { deadline: Date.now() + 240_000 },
        (err) => resolve(err ? (grpc.status[err.code] ?? String(err.code)) : 'ok'),
      );
    });

  const tally = (outcomes: string[]) =>
    outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});

  beforeAll(async () => {
    const namespace = await createTestNamespace(testKubeConfig(), 'ext-mem');
    const logDir = join(stackInfo().dir, 'logs', uniqueName('ext-mem'));
    mkdirSync(logDir, { recursive: true });
    // What the chart sets (deploy/chart/templates/extension.yaml), from the chart's default values.
    const started = await startExtensionProcess({
      namespace,
      logFile: join(logDir, 'extension.log'),
      env: {
        EXTENSION_MAX_MESSAGE_BYTES: String(chartExtension.maxMessageBytes),
        EXTENSION_MAX_CONCURRENT_CALLS: String(chartExtension.maxConcurrentCalls),
        EXTENSION_MAX_QUEUED_CALLS: String(chartExtension.maxQueuedCalls),
        NODE_OPTIONS: chartExtension.nodeOptions,
        LOG_LEVEL: 'info',
      },
    });
    ({ process: server, grpcPort } = started);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  const pid = () => server.child.pid!;
  const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
  const report: string[] = [];

  it.each(Object.keys(shapes))(
    `answers ${concurrent} concurrent 15 MiB requests (%s) with peak RSS under the chart's limit`,
    async (shape) => {
      const { hook, body } = shapes[shape]!;
      const request = body();
      expect(request.length).toBeLessThanOrEqual(chartExtension.maxMessageBytes);
      const client = newClient();
      const outcomes = await Promise.all(
        Array.from({ length: concurrent }, () => outcome(client, hook, request)),
      );
      const { rss, peak } = memoryOf(pid());
      report.push(
        `${shape}: ${JSON.stringify(tally(outcomes))}, VmHWM ${mib(peak)}, VmRSS after ${mib(rss)}`,
      );
      // Queued, not refused: every call is answered by the hook itself.
      expect(outcomes.filter((o) => !['ok', 'INVALID_ARGUMENT'].includes(o))).toEqual([]);
      expect(server.child.exitCode).toBeNull();
      expect(peak).toBeLessThan(memoryLimit);
    },
    300_000,
  );

  it('refuses what it can neither run nor queue, and oversized requests, with RESOURCE_EXHAUSTED', async () => {
    const request = shapes['garbage bytes']!.body();
    const capacity = chartExtension.maxConcurrentCalls + chartExtension.maxQueuedCalls;
    // One connection per call: grpc.max_concurrent_streams caps the streams of one connection.
    const outcomes = await Promise.all(
      Array.from({ length: capacity + 10 }, () => outcome(newClient(), 'PostRouteModify', request)),
    );
    const counts = tally(outcomes);
    report.push(`${capacity + 10} calls on as many connections: ${JSON.stringify(counts)}`);
    expect(counts.RESOURCE_EXHAUSTED).toBeGreaterThan(0);
    expect((counts.INVALID_ARGUMENT ?? 0) + (counts.RESOURCE_EXHAUSTED ?? 0)).toBe(capacity + 10);

    const tooBig = Buffer.alloc(chartExtension.maxMessageBytes + 1024, 0x0a);
    const client = newClient();
    expect(
      tally(await Promise.all(Array.from({ length: 8 }, () => outcome(client, 'PostRouteModify', tooBig)))),
    ).toEqual({ RESOURCE_EXHAUSTED: 8 });
    expect(memoryOf(pid()).peak).toBeLessThan(memoryLimit);
  }, 300_000);

  it('still answers valid calls exactly afterwards', async () => {
    const client = newClient();
    const listener = egListener();
    const response = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        `/${extensionServiceName}/PostHTTPListenerModify`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(rpcCodecs.PostHTTPListenerModify.request.encode({ listener })),
        (err, res) => (err ? reject(err) : resolve(res!)),
      ),
    );
    const decoded = rpcCodecs.PostHTTPListenerModify.response.decode(response);
    expect(Buffer.from(decoded.listener ?? []).equals(Buffer.from(listener))).toBe(true);
    expect(server.child.exitCode).toBeNull();
    process.stdout.write(
      `extension memory (limit ${mib(memoryLimit)}, ${chartExtension.maxConcurrentCalls} running, ` +
        `${chartExtension.maxQueuedCalls} queued):\n  ${report.join('\n  ')}\n`,
    );
  });
});
