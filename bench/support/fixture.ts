/**
 * Everything a benchmark of the operator needs, started in order: a namespace, the Tailscale simulator
 * with a TailscaleTailnet, the operator's worker and watchers scoped to this run, the proxy simulator
 * playing the proxies, a Ready pool of TailscaleEndpoints, and a watch timestamping Ready services.
 */
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { TailscaleTailnet } from '../../api/v1alpha1';
import { startProxySimulator, type ProxySimulator } from '../../simulators/proxy/simulator';
import { createEndpointsPool, ServicesTracker, waitFor } from './objects';
import { startBenchOperator, type BenchOperator } from './operator';
import { createNamespace, uniqueName, type BenchStack } from './stack';
import { startBenchTailnet, type BenchTailnet } from './tailnet';

export interface Fixture {
  stack: BenchStack;
  namespace: string;
  tailnet: BenchTailnet;
  operator: BenchOperator;
  proxies: ProxySimulator;
  pools: string[];
  tracker: ServicesTracker;
  /** The processes whose memory and CPU a benchmark reports. */
  pids(): Record<string, number | undefined>;
  /** Stops every operator process (SIGTERM, as a rollout does) and starts a fresh set, logs apart. */
  restartOperator(): Promise<BenchOperator>;
  close(): Promise<void>;
}

export async function startFixture(opts: {
  stack: BenchStack;
  name: string;
  endpoints: number;
  replicas: number;
  env?: Record<string, string>;
  /** Added for the watchers only. */
  watchersEnv?: Record<string, string>;
  log: (line: string) => void;
}): Promise<Fixture> {
  const { stack, log } = opts;
  const started = Date.now();
  const namespace = await createNamespace(stack.kc, opts.name);
  const instance = uniqueName(opts.name);
  const tailnetName = uniqueName('corp');
  const labels = { 'bench.tailscale-gateway.com/instance': instance };
  const tailnet = await startBenchTailnet({ kc: stack.kc, namespace, name: tailnetName, labels });
  const startOperator = (logDir?: string) =>
    startBenchOperator({
      stack,
      instance,
      namespace,
      tailscaleUrl: tailnet.sim.url,
      env: opts.env,
      watchersEnv: opts.watchersEnv,
      logDir,
    });
  let operator = startOperator();
  let restarts = 0;
  const proxies = startProxySimulator({
    kc: stack.kc,
    tailscale: tailnet.sim.admin,
    namespaces: [namespace],
  });
  const tracker = new ServicesTracker(stack.kc, namespace);
  const close = async () => {
    await tracker.stop();
    await proxies.stop();
    await operator.stop();
    await tailnet.close();
  };
  try {
    const objects = stack.kc.makeApiClient(CustomObjectsApi);
    await waitFor(
      `TailscaleTailnet ${tailnetName} Ready (operator logs: ${operator.logDir})`,
      async () => {
        const t = (await objects.getClusterCustomObject({
          group: 'gateway.tailscale.com',
          version: 'v1alpha1',
          plural: 'tailscaletailnets',
          name: tailnetName,
        })) as TailscaleTailnet;
        return t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
          ? true
          : undefined;
      },
      60_000,
    );
    const pools = await createEndpointsPool({
      kc: stack.kc,
      namespace,
      tailnet: tailnetName,
      labels: operator.labels,
      count: opts.endpoints,
      replicas: opts.replicas,
      timeoutMs: 120_000 + opts.endpoints * 5_000,
    });
    await tracker.start();
    log(
      `fixture up in ${((Date.now() - started) / 1000).toFixed(1)} s: namespace ${namespace}, ${opts.endpoints} TailscaleEndpoints × ${opts.replicas} proxies Ready, operator logs in ${operator.logDir}`,
    );
    const fixture: Fixture = {
      stack,
      namespace,
      tailnet,
      operator,
      proxies,
      pools,
      tracker,
      pids: () => ({
        worker: operator.worker.child.pid,
        watchers: operator.watchers.child.pid,
        'kube-apiserver': stack.info.pids['kube-apiserver'],
        etcd: stack.info.pids.etcd,
        temporal: stack.info.pids.temporal,
        'bench (simulators, watches)': process.pid,
      }),
      async restartOperator() {
        await operator.stop();
        operator = startOperator(join(operator.logDir, `restart-${++restarts}`));
        fixture.operator = operator;
        return operator;
      },
      close,
    };
    return fixture;
  } catch (err) {
    await close();
    throw err;
  }
}
