import { join } from 'node:path';
import { startOperatorProcesses, type OperatorProcesses } from '../../tools/stack/operator';
import { stackInfo } from './stack';

export interface TestOperatorOptions {
  /** Isolates this test file's operator: its own task queue and label selector. */
  instance: string;
  temporalNamespace?: string;
  watchNamespaces?: string[];
  env?: Record<string, string>;
}

export interface TestOperator extends OperatorProcesses {
  taskQueue: string;
  labelSelector: string;
  /** Labels every object this operator should see must carry. */
  labels: Record<string, string>;
  logDir: string;
}

const instanceLabel = 'test.tailscale-gateway.com/instance';

/** The labels an object needs to be seen by the test operator `instance`. */
export const instanceLabels = (instance: string) => ({ [instanceLabel]: instance });

/**
 * Runs the real worker and watchers processes against the test stack, scoped to one test file by a
 * label selector and task queue, so test files running in parallel never see each other's objects.
 */
export function startOperator(opts: TestOperatorOptions): TestOperator {
  const info = stackInfo();
  const taskQueue = `tq-${opts.instance}`;
  const labelSelector = `${instanceLabel}=${opts.instance}`;
  const logDir = join(info.dir, 'logs', opts.instance);
  const processes = startOperatorProcesses({
    logDir,
    env: {
      ...process.env,
      KUBECONFIG: info.kubeconfigPath,
      TEMPORAL_ADDRESS: info.temporalAddress,
      TEMPORAL_NAMESPACE: opts.temporalNamespace ?? 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      WATCH_LABEL_SELECTOR: labelSelector,
      WATCH_NAMESPACES: (opts.watchNamespaces ?? []).join(','),
      OPERATOR_NAMESPACE: info.operatorNamespace,
      LOG_LEVEL: 'debug',
      ...opts.env,
    },
  });
  return Object.assign(processes, {
    taskQueue,
    labelSelector,
    labels: instanceLabels(opts.instance),
    logDir,
  });
}
