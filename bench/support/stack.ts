/**
 * The real local stack a benchmark runs on: etcd + kube-apiserver + the Temporal dev server. Standalone
 * (`node dist/bench/<name>.js`) a benchmark starts its own in a temporary directory and stops it at the
 * end; inside jest (the `stack` project) it reuses the run's stack through TSGW_TEST_STACK.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { reuseConnections } from '../../runtime/kube';
import { Client, Connection } from '@temporalio/client';
import { startStack, type StackInfo } from '../../tools/stack';
import { parseFlags, runMain, saveResult } from './report';

export interface BenchStack {
  info: StackInfo;
  kc: KubeConfig;
  temporal: Client;
  /** True when this benchmark started the stack (its processes are ours to measure). */
  own: boolean;
  stop(): Promise<void>;
}

export async function benchStack(log: (line: string) => void = console.log): Promise<BenchStack> {
  const shared = process.env.TSGW_TEST_STACK;
  let info: StackInfo;
  let stopStack = async () => {};
  if (shared) {
    info = JSON.parse(readFileSync(shared, 'utf8')) as StackInfo;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'tsgw-bench-'));
    const started = Date.now();
    const stack = await startStack({ dir, ui: false, minRequestTimeoutSeconds: 60 });
    log(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir})`);
    info = stack.info;
    stopStack = async () => {
      await stack.stop();
      if (!process.env.TSGW_KEEP_BENCH_STACK) rmSync(dir, { recursive: true, force: true });
    };
  }
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfigPath);
  reuseConnections(kc);
  const connection = await Connection.connect({ address: info.temporalAddress });
  return {
    info,
    kc,
    temporal: new Client({ connection, namespace: 'default' }),
    own: !shared,
    async stop() {
      await connection.close();
      await stopStack();
    },
  };
}

let counter = 0;
/** A fresh, unique name (namespaces never finish deleting on a bare API server). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`.slice(0, 40);
}

export async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/**
 * A benchmark's command line: flags over `defaults`, one run on a fresh stack, its table printed and
 * its figures saved under `name`.
 */
export function runStackBench<Options extends Record<string, number | string | boolean>, Figures>(
  name: string,
  defaults: Options,
  run: (stack: BenchStack, opts: Options) => Promise<Figures>,
  print: (figures: Figures) => string,
): void {
  runMain(async () => {
    const opts = parseFlags(process.argv.slice(2), defaults);
    const stack = await benchStack();
    try {
      const figures = await run(stack, opts);
      console.log(print(figures));
      console.log(`→ ${saveResult(name, opts, figures)}`);
    } finally {
      await stack.stop();
    }
  });
}
