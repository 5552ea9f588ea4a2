/**
 * The operator under test: the real worker and watchers processes (`node dist/...`), scoped to one
 * benchmark by a task queue and a label selector, against the benchmark's Tailscale simulator.
 */
import { join } from 'node:path';
import { startOperatorProcesses, type OperatorProcesses } from '../../tools/stack/operator';
import type { BenchStack } from './stack';

export interface BenchOperator extends OperatorProcesses {
  taskQueue: string;
  labelSelector: string;
  labels: Record<string, string>;
  logDir: string;
}

const instanceLabel = 'bench.tailscale-gateway.com/instance';

export function startBenchOperator(opts: {
  stack: BenchStack;
  instance: string;
  namespace: string;
  tailscaleUrl: string;
  env?: Record<string, string>;
  watchersEnv?: Record<string, string>;
  /** Where its logs go; by default a directory named after the instance. */
  logDir?: string;
}): BenchOperator {
  const taskQueue = `tq-${opts.instance}`;
  const labelSelector = `${instanceLabel}=${opts.instance}`;
  const logDir = opts.logDir ?? join(opts.stack.info.dir, 'logs', opts.instance);
  const processes = startOperatorProcesses({
    logDir,
    // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the worker and the watchers under load.
    nodeArgs: process.env.TSGW_BENCH_OPERATOR_NODE_ARGS?.split(' ').filter(Boolean),
    watchersEnv: opts.watchersEnv,
    env: {
      ...process.env,
      KUBECONFIG: opts.stack.info.kubeconfigPath,
      TEMPORAL_ADDRESS: opts.stack.info.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      WATCH_LABEL_SELECTOR: labelSelector,
      WATCH_NAMESPACES: opts.namespace,
      TAILSCALE_API_BASE_URL: opts.tailscaleUrl,
      OPERATOR_ID: 'bench',
      CLUSTER_ID: 'local',
      // What production runs with: logging at debug would be part of what is measured.
      LOG_LEVEL: process.env.TSGW_BENCH_LOG_LEVEL ?? 'info',
      // The chart's worker.nodeOptions (the heap cap a deployed worker runs with) unless overridden.
      NODE_OPTIONS: process.env.TSGW_BENCH_OPERATOR_NODE_OPTIONS ?? chartWorkerNodeOptions,
      ...opts.env,
    },
  });
  return Object.assign(processes, {
    taskQueue,
    labelSelector,
    labels: { [instanceLabel]: opts.instance },
    logDir,
  });
}

const chartWorkerNodeOptions = '--max-old-space-size=256';
