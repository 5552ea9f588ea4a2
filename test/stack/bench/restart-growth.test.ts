/**
 * The growth and restart benchmarks at toy sizes on the test stack: each runs end to end and produces
 * its figures (no timing asserted). The restart must cost Tailscale no write, and the restarted watchers
 * must not signal a workflow that already acted on its object as it stands.
 */
import { printGrowth, runGrowth } from '../../../bench/growth';
import { printRestart, runRestart } from '../../../bench/restart';
import { quiet, useBenchStack } from './bench-stack';

describe('growth and restart benchmarks at toy sizes (figures produced, nothing timed)', () => {
  const bench = useBenchStack();

  it('growth: one row per size, with actions, requests, memory and the largest history', async () => {
    const f = await runGrowth(
      bench.stack,
      { sizes: '2,4', endpoints: 1, replicas: 1, createConcurrency: 4, timeoutMs: 120_000 },
      quiet,
    );
    expect(f.rows.map((r) => r.services)).toEqual([2, 4]);
    for (const r of f.rows) {
      expect(r.actionsPerService).toBeGreaterThan(0);
      expect(r.tailscaleRequestsPerService).toBeGreaterThan(0);
      expect(r.workerPeakRssMiB).toBeGreaterThan(0);
      expect(r.largestHistory.events).toBeGreaterThan(5);
      expect(r.largestHistory.bytes).toBeGreaterThan(0);
    }
    expect(Number.isFinite(f.perServiceRatio)).toBe(true);
    expect(printGrowth(f)).toContain('ms/service');
  });

  it('restart: quiet again with no Tailscale write and no signal to an unchanged object', async () => {
    const f = await runRestart(
      bench.stack,
      {
        services: 3,
        endpoints: 1,
        replicas: 1,
        createConcurrency: 3,
        quietSeconds: 3,
        settleSeconds: 3,
        timeoutMs: 180_000,
      },
      quiet,
    );
    expect(f.quietSeconds).toBeGreaterThan(0);
    expect(f.kubeRequests.total).toBeGreaterThan(0);
    expect(f.tailscaleWrites).toBe(0);
    // What the services' workflows had acted on was read from their memos: nothing to tell them again.
    expect(f.actions.byWorkflowType.tailscaleServicesWorkflow?.workflows).toBe(3);
    expect(f.actions.byWorkflowType.tailscaleServicesWorkflow?.signals).toBe(0);
    expect(printRestart(f)).toContain('Tailscale requests');
  });
});
