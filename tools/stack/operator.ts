import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../runtime/paths';
import { spawnManaged, type ManagedProcess } from './process';

export interface OperatorProcessOptions {
  /** Environment of both processes (runtime/config.ts documents every variable). */
  env: NodeJS.ProcessEnv;
  logDir: string;
  /** Flags for node itself that NODE_OPTIONS refuses (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Added to `env` for the watchers only (e.g. a HEALTH_ADDRESS of their own). */
  watchersEnv?: NodeJS.ProcessEnv;
}

export interface OperatorProcesses {
  worker: ManagedProcess;
  watchers: ManagedProcess;
  /** SIGKILL the worker (a crash, as far as Temporal can tell) and wait for it to be gone. */
  killWorker(): Promise<void>;
  startWorker(): void;
  stop(): Promise<void>;
}

/** The operator's worker and watchers as real `node dist/...` processes, exactly as deployed. */
export function startOperatorProcesses(opts: OperatorProcessOptions): OperatorProcesses {
  mkdirSync(opts.logDir, { recursive: true });
  const dist = join(repoRoot(), 'dist');
  let workerRuns = 0;
  const spawnWorker = () =>
    spawnManaged({
      name: 'worker',
      command: process.execPath,
      args: [...(opts.nodeArgs ?? []), join(dist, 'workers', 'main.js')],
      env: opts.env,
      logFile: join(opts.logDir, `worker-${workerRuns++}.log`),
    });
  const handle: OperatorProcesses = {
    worker: spawnWorker(),
    watchers: spawnManaged({
      name: 'watchers',
      command: process.execPath,
      args: [...(opts.nodeArgs ?? []), join(dist, 'watchers', 'main.js')],
      env: { ...opts.env, ...opts.watchersEnv },
      logFile: join(opts.logDir, 'watchers.log'),
    }),
    async killWorker() {
      handle.worker.child.kill('SIGKILL');
      await handle.worker.exited;
    },
    startWorker() {
      handle.worker = spawnWorker();
    },
    async stop() {
      await Promise.all([handle.worker.stop(), handle.watchers.stop()]);
    },
  };
  return handle;
}
