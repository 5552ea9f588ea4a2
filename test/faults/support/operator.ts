import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../runtime/paths';
import { spawnManaged, type ManagedProcess } from '../../../tools/stack/process';
import { instanceLabels } from '../../support/operator';
import { stackInfo } from '../../support/stack';

export interface FaultOperatorOptions {
  /** Isolates this operator: its own task queue, label selector and log directory. */
  instance: string;
  watchNamespaces: string[];
  /** Environment of both processes (OPERATOR_ID, TAILSCALE_API_BASE_URL, ...). */
  env: Record<string, string>;
  /** Overrides for one process only, e.g. the watchers' KUBECONFIG pointing at a cuttable proxy. */
  workerEnv?: Record<string, string>;
  watchersEnv?: Record<string, string>;
  /** Default: the shared test stack's Temporal. */
  temporalAddress?: string;
  temporalNamespace?: string;
}

export interface FaultOperator {
  instance: string;
  taskQueue: string;
  labels: Record<string, string>;
  logDir: string;
  worker: ManagedProcess;
  watchers: ManagedProcess;
  /** SIGKILL (a crash, as far as Temporal and the API server can tell), then wait until it is gone. */
  killWorker(): Promise<void>;
  startWorker(): void;
  killWatchers(): Promise<void>;
  startWatchers(): void;
  /** Another watchers process beside `watchers` (leader election), with extra environment. */
  spawnWatchers(env: Record<string, string>): ManagedProcess;
  stop(): Promise<void>;
}

/**
 * The real worker and watchers (`node dist/...`), like test/support/operator.ts, but each process with
 * its own environment and restartable on its own, so a fault can hit one of them. Logs go under the
 * stack directory (`<stack>/logs/<instance>/`), where the secrets scan reads every line.
 */
export function startFaultOperator(opts: FaultOperatorOptions): FaultOperator {
  const info = stackInfo();
  const taskQueue = `tq-${opts.instance}`;
  const logDir = join(info.dir, 'logs', opts.instance);
  mkdirSync(logDir, { recursive: true });
  const dist = join(repoRoot(), 'dist');
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: info.kubeconfigPath,
    TEMPORAL_ADDRESS: opts.temporalAddress ?? info.temporalAddress,
    TEMPORAL_NAMESPACE: opts.temporalNamespace ?? 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
    WATCH_LABEL_SELECTOR: Object.entries(instanceLabels(opts.instance))
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    WATCH_NAMESPACES: opts.watchNamespaces.join(','),
    LOG_LEVEL: 'debug',
    ...opts.env,
  };
  const runs = { worker: 0, watchers: 0 };
  const extraWatchers: ManagedProcess[] = [];
  const spawn = (which: 'worker' | 'watchers', extraEnv?: Record<string, string>) =>
    spawnManaged({
      name: which,
      command: process.execPath,
      args: [join(dist, which === 'worker' ? 'workers' : 'watchers', 'main.js')],
      env: { ...base, ...(which === 'worker' ? opts.workerEnv : opts.watchersEnv), ...extraEnv },
      logFile: join(logDir, `${which}-${runs[which]++}.log`),
    });
  const kill = async (p: ManagedProcess) => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  };
  const handle: FaultOperator = {
    instance: opts.instance,
    taskQueue,
    labels: instanceLabels(opts.instance),
    logDir,
    worker: spawn('worker'),
    watchers: spawn('watchers'),
    killWorker: () => kill(handle.worker),
    startWorker() {
      handle.worker = spawn('worker');
    },
    killWatchers: () => kill(handle.watchers),
    startWatchers() {
      handle.watchers = spawn('watchers');
    },
    spawnWatchers(env) {
      const extra = spawn('watchers', env);
      extraWatchers.push(extra);
      return extra;
    },
    async stop() {
      await Promise.all([
        handle.worker.stop(),
        handle.watchers.stop(),
        ...extraWatchers.map((p) => p.stop()),
      ]);
    },
  };
  return handle;
}
