/**
 * Issue 13 §5: with Temporal hung, the watchers logged nothing and stayed ready. A hung server answers
 * nothing and closes nothing, so only deadlines notice it. Temporal is frozen (SIGSTOP, every
 * connection stays open and silent), an object changes meanwhile, and the watchers must say so in their
 * log (a warning, bounded in rate), turn /ready 503 after their grace period (5 s here), and recover
 * once Temporal thaws, delivering the change. A dedicated Temporal dev server serves this file.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../tools/stack/ports';
import { startTemporalServer, type TemporalServer } from '../../tools/stack/temporal-server';
import { eventually } from '../support/eventually';
import { scrape, sum } from '../support/metrics';
import { stackInfo, uniqueName } from '../support/stack';
import { startFaultWorld, type FaultWorld } from './support/world';

const outageWarning = 'Temporal unreachable: signals cannot be delivered';

describe('Temporal hung (SIGSTOP): the watchers notice', () => {
  let temporal: TemporalServer;
  let w: FaultWorld;
  let healthPort: number;

  beforeAll(async () => {
    const dir = join(stackInfo().dir, `temporal-hang-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    temporal = await startTemporalServer({ dir, ui: false });
    healthPort = await freePort();
    w = await startFaultWorld({
      prefix: 'thang',
      operator: {
        temporalAddress: temporal.address,
        watchersEnv: {
          HEALTH_ADDRESS: `127.0.0.1:${healthPort}`,
          WATCHERS_TEMPORAL_TIMEOUT_SECONDS: '2',
          WATCHERS_TEMPORAL_UNREADY_AFTER_SECONDS: '5',
        },
      },
    });
  });
  afterAll(async () => {
    temporal?.process.child.kill('SIGCONT');
    await w?.close();
    await temporal?.stop();
  });

  const ready = async () => {
    const res = await fetch(`http://127.0.0.1:${healthPort}/ready`);
    return { status: res.status, body: (await res.text()).trim() };
  };
  // The watchers' health server also serves their /metrics.
  const outageMetrics = async () => {
    const samples = await scrape(`http://127.0.0.1:${healthPort}`);
    return {
      unreachableSeconds: sum(samples, 'tsgw_watchers_temporal_unreachable_seconds'),
      failures: sum(samples, 'tsgw_watchers_temporal_failures_total'),
    };
  };
  const warnings = () =>
    readFileSync(w.operator.watchers.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes(outageWarning));

  it('logs the outage, turns unready after the grace period, and recovers', async () => {
    const name = uniqueName('during');
    await w.objects.createManualEndpoints(`${name}-proxies`, w.tailnet.name, { app: name });
    await eventually('watchers ready', async () => ((await ready()).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
    });
    expect(warnings()).toEqual([]);
    expect((await outageMetrics()).unreachableSeconds).toBe(0);

    temporal.process.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    await w.objects.create(
      'TailscaleServices',
      name,
      {
        tailnet: w.tailnet.name,
        selector: { matchLabels: { app: name } },
        vipService: { ports: ['tcp:443'], tags: ['tag:web'] },
      },
      w.operator.labels,
    );
    const unready = await eventually(
      '/ready 503',
      async () => {
        const r = await ready();
        return r.status === 503 ? r : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(unready.body).toMatch(/^Temporal calls failing for \d+ s: /);
    // ... and in the metrics: failing at least as long as the grace period, with failed calls counted.
    const during = await outageMetrics();
    expect(during.unreachableSeconds).toBeGreaterThanOrEqual(5);
    expect(during.failures).toBeGreaterThan(0);
    // Observed while frozen: the warning was logged, and not once per failed call.
    const logged = warnings();
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged.length).toBeLessThanOrEqual(Math.ceil((Date.now() - frozenAt) / 30_000) + 1);
    expect(w.operator.watchers.child.exitCode).toBeNull();

    temporal.process.child.kill('SIGCONT');
    await eventually('ready again', async () => ((await ready()).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
    });
    const after = await outageMetrics();
    expect(after.unreachableSeconds).toBe(0);
    expect(after.failures).toBeGreaterThanOrEqual(during.failures);
    // The change made while Temporal was frozen was kept in the queue and delivered.
    await w.objects.waitReady('TailscaleServices', name, 120_000);
  }, 300_000);
});
