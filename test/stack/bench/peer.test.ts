/**
 * bench/peer.ts at toy size: Tailscale's own operator (built by tools/setup.sh tailscale-operator) and
 * ours each expose one service on the test stack and both produce their figures. Nothing is timed.
 */
import { printPeer, runPeerComparison } from '../../../bench/peer';
import { quiet, useBenchStack } from './bench-stack';

describe("Tailscale's operator side by side (figures produced, nothing timed)", () => {
  const bench = useBenchStack();

  it('both operators expose the service and report every figure', async () => {
    const f = await runPeerComparison(
      bench.stack,
      { services: 1, replicas: 1, rounds: 1, createConcurrency: 1, timeoutMs: 100_000, direct: false },
      quiet,
    );
    const [round] = f.rounds;
    for (const figures of [round!.us, round!.peer]) {
      expect(figures.services).toBe(1);
      expect(figures.vipExists.last).toBeGreaterThan(0);
      expect(figures.status.last).toBeGreaterThanOrEqual(figures.vipExists.last);
      expect(figures.tailscaleRequestsPerService).toBeGreaterThan(0);
      expect(figures.kubernetesWritesPerService).toBeGreaterThan(0);
    }
    expect(round!.peer.tailscaleRequests).toHaveProperty(['PUT /api/v2/tailnet/-/vip-services/{name}']);
    expect(printPeer(f)).toContain('Kubernetes writes / service');
    // Over several rounds the comparison is the p50 of the rounds' times.
    const twice = printPeer({ ...f, rounds: [round!, round!] });
    expect(twice).toContain('to status, p50 of the rounds (s)');
  });
});
