/**
 * bench/data-path.ts at toy size on the test stack, so it keeps working: every figure is produced and
 * sane (requests answered by the backend each way, each config change forwarded). Nothing is timed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printDataPath, runDataPath } from '../../../bench/data-path';
import { saveResult } from '../../../bench/support/report';
import { benchStack, type BenchStack } from '../../../bench/support/stack';

const quiet = () => undefined;
const positive = (n: number) => Number.isFinite(n) && n > 0;

describe('data path benchmark at toy size (figures produced, nothing timed)', () => {
  let stack: BenchStack;
  let results: string;

  beforeAll(async () => {
    stack = await benchStack(quiet);
    results = mkdtempSync(join(tmpdir(), 'tsgw-bench-results-'));
    process.env.TSGW_BENCH_RESULTS_DIR = results;
  });
  afterAll(async () => {
    await stack?.stop();
    delete process.env.TSGW_BENCH_RESULTS_DIR;
    rmSync(results, { recursive: true, force: true });
  });

  it('latency and throughput through the VIP and direct, and config change → first forwarded request', async () => {
    const f = await runDataPath(
      stack,
      {
        requests: 10,
        throughputRequests: 20,
        concurrency: 2,
        bulkMegabytes: 1,
        changes: 2,
        endpoints: 1,
        replicas: 1,
        probeIntervalMs: 5,
        timeoutMs: 90_000,
      },
      quiet,
    );
    const { latency, throughput, bulk } = f.dataPlane;
    expect(latency.direct.n).toBe(10);
    expect(latency.vip.n).toBe(10);
    for (const n of [latency.direct.p99, latency.vip.p99, latency.ratioP50, latency.ratioP99]) {
      expect(positive(n)).toBe(true);
    }
    for (const n of [throughput.direct.perSecond, throughput.vip.perSecond, throughput.ratio]) {
      expect(positive(n)).toBe(true);
    }
    expect(bulk.vip.bytes).toBe(1e6);
    for (const n of [bulk.direct.mbPerSecond, bulk.vip.mbPerSecond, bulk.ratio])
      expect(positive(n)).toBe(true);

    expect(f.samples.map((s) => s.kind)).toEqual(['create', 'create', 'move', 'move']);
    for (const s of f.samples) {
      for (const leg of [s.serveConfig, s.status, s.forwarded]) expect(positive(leg)).toBe(true);
    }
    for (const s of f.samples.filter((x) => x.kind === 'create')) expect(positive(s.tailscale!)).toBe(true);
    expect(f.configChange.create.applyToForwarded.n).toBe(2);
    expect(f.configChange.move.applyToForwarded.n).toBe(2);

    const printed = printDataPath(f);
    expect(printed).toContain('STAND-IN');
    expect(printed).toContain('first forwarded request');
    const saved = JSON.parse(readFileSync(saveResult('data-path', {}, f), 'utf8')) as { figures: typeof f };
    expect(saved.figures.standIn).toContain('not tailscaled');
  }, 300_000);
});
