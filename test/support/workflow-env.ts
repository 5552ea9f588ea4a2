import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createTemporalSignalActivities } from '../../activities/temporal-signals';
import { timerScaleBundleOptions } from '../../runtime/timer-scale';
import { toolPaths } from '../../tools/stack/paths';
import { eventually } from './eventually';

/**
 * One simulated hour per real second: the fast tier's workflows run on the real Temporal dev server
 * (the CLI that tools/setup.sh caches), with every timer scaled by the test-only interceptor.
 */
export const fastTimerScale = 1 / 3600;

/** What the interceptor turns a workflow's timer of `ms` into (same rounding as workflows/timer-scale.ts). */
export const scaledMs = (ms: number) => Math.max(1, Math.round(ms * fastTimerScale));

export interface WorkflowTier {
  env: TestWorkflowEnvironment;
  /**
   * Runs a worker with `activities` (plain functions) on a fresh task queue while `body` runs, beside the
   * real activities that signal workflows (activities/temporal-signals.ts) unless `activities` replaces them.
   */
  run<T>(activities: object, body: (taskQueue: string) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface WorkflowTierOptions {
  extraArgs?: string[];
  /**
   * What every workflow timer is multiplied by (default `fastTimerScale`). A test that counts the passes
   * one signal causes slows the timers down instead, so that no timer pass lands among them.
   */
  timerScale?: number;
}

export async function startWorkflowTier(opts: WorkflowTierOptions = {}): Promise<WorkflowTier> {
  // Worker state changes at INFO would drown the test output; one Runtime per module registry.
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed by an earlier file in this process
  }
  const [env, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: toolPaths().temporal },
        extraArgs: ['--log-level', 'warn', ...(opts.extraArgs ?? [])],
      },
    }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      ...(await timerScaleBundleOptions(opts.timerScale ?? fastTimerScale)),
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
    }),
  ]);
  return {
    env,
    async run(activities, body) {
      const taskQueue = `fast-${randomUUID()}`;
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
        // The activities that only signal workflows run for real against this server, unless the test's
        // own replace them.
        activities: { ...createTemporalSignalActivities({ client: env.client, taskQueue }), ...activities },
      });
      return worker.runUntil(body(taskQueue));
    },
    close: () => env.teardown(),
  };
}

/**
 * The tier for the calling test file: started in its beforeAll, torn down in its afterAll. Call it at
 * the top of the file; the tier's members are usable from the tests.
 */
export function useWorkflowTier(opts: WorkflowTierOptions = {}): WorkflowTier {
  let tier: WorkflowTier | undefined;
  beforeAll(async () => {
    tier = await startWorkflowTier(opts);
  });
  afterAll(() => tier?.close());
  const started = (): WorkflowTier => {
    if (!tier) throw new Error('the workflow tier starts in beforeAll: use it inside a test');
    return tier;
  };
  return {
    get env() {
      return started().env;
    },
    run: (activities, body) => started().run(activities, body),
    close: () => started().close(),
  };
}

/** Every event of a workflow run's history so far. */
export const historyEvents = async (handle: WorkflowHandle) => (await handle.fetchHistory()).events ?? [];

/** The durations (ms) of the timers a workflow run started, in order. */
export async function timerDurations(handle: WorkflowHandle): Promise<number[]> {
  return (await historyEvents(handle))
    .map((e) => e.timerStartedEventAttributes?.startToFireTimeout)
    .filter((d): d is NonNullable<typeof d> => Boolean(d))
    .map((d) => Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6));
}

/** Waits until the run has started `n` timers (a pass ends by starting its next); returns their durations. */
export const timersStarted = (handle: WorkflowHandle, n: number, what = `${n} timer(s) started`) =>
  eventually(
    what,
    async () => {
      const durations = await timerDurations(handle);
      return durations.length >= n ? durations : undefined;
    },
    { intervalMs: 20 },
  );

/** A promise resolved by the `n`th call of `count()`; lets a mocked activity mark a point to wait for. */
export function nthCall(n: number): { count: () => number; reached: Promise<void> } {
  let calls = 0;
  let resolve!: () => void;
  const reached = new Promise<void>((r) => (resolve = r));
  return {
    count: () => {
      calls++;
      if (calls === n) resolve();
      return calls;
    },
    reached,
  };
}
