/**
 * bench/single-change.ts at toy size: one TailscaleServices on one pool of one proxy, and its path read
 * back from the histories. Nothing is timed.
 */
import { printSingleChange, runSingleChange } from '../../../bench/single-change';
import { quiet, useBenchStack } from './bench-stack';

describe('one change, step by step (figures produced, nothing timed)', () => {
  const bench = useBenchStack();

  it("lists each workflow task of the change's path with the local activities it ran", async () => {
    const f = await runSingleChange(bench.stack, { rounds: 1, replicas: 1, gapMs: 0 }, quiet);
    const [round] = f.rounds;
    expect(round!.readyMs).toBeGreaterThan(0);
    // The services workflow's first task holds the finalizer write; the VIP workflow's, the PUT.
    const tasks = round!.steps.filter((s) => s.what.startsWith('workflow task'));
    expect(tasks.some((s) => s.workflow.startsWith('services') && s.what.includes('ensureFinalizer'))).toBe(
      true,
    );
    expect(tasks.some((s) => s.workflow.startsWith('vip') && s.what.includes('attachVipService'))).toBe(true);
    expect(round!.workflowTasks).toBe(tasks.length);
    expect(printSingleChange(f)).toContain('step by step');
  });
});
