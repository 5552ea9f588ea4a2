/**
 * Every process's /metrics, scraped from the real processes (`node dist/...`) as Prometheus would: the
 * exposition parses, Node's process metrics and the Temporal SDK's own metrics are there, and the
 * operator's metrics move as the test acts. The chart's dashboard and alert rules may only name metrics
 * some process exports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartPath } from '../../../tools/helm';
import { startTailscaleSimulator, type TailscaleSimulator } from '../../../simulators/tailscale/server';
import { eventually } from '../../support/eventually';
import {
  freePort,
  healthPortOf,
  parseExposition,
  scrape,
  scrapeText,
  sum,
  type Sample,
} from '../../support/metrics';
import { startExtensionProcess, type ExtensionProcess } from '../../support/extension-process';
import { createServicesWithProxies } from '../../support/objects';
import { startOperator, type TestOperator } from '../../support/operator';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';
import { parse } from 'yaml';

/** Every metric a process declares (`# TYPE`), including labelled ones with no sample yet. */
const declaredMetrics = (text: string) =>
  [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
    type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
  );

describe('metrics from every process', () => {
  let sim: TailscaleSimulator;
  let operator: TestOperator;
  let tailnet: TestTailnet;
  let extension: ExtensionProcess;
  let namespace: string;
  let workerBase: string;
  let watchersBase: string;

  beforeAll(async () => {
    const kc = testKubeConfig();
    namespace = await createTestNamespace(kc, 'metrics');
    sim = await startTailscaleSimulator({ dnsSuffix: 'tail3c9d.ts.net' });
    operator = startOperator({
      instance: uniqueName('metrics'),
      env: {
        TAILSCALE_API_BASE_URL: sim.url,
        HEALTH_ADDRESS: '127.0.0.1:0',
        TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
      },
    });
    tailnet = await startTestTailnet({
      kc,
      namespace,
      name: uniqueName('corp'),
      labels: operator.labels,
      sim,
    });
    workerBase = `http://127.0.0.1:${await healthPortOf(join(operator.logDir, 'worker-0.log'))}`;
    watchersBase = `http://127.0.0.1:${await healthPortOf(join(operator.logDir, 'watchers.log'))}`;
    extension = await startExtensionProcess({ namespace, logFile: join(operator.logDir, 'extension.log') });
  });

  afterAll(async () => {
    await extension?.process.stop();
    await operator?.stop();
    await sim?.close();
  });

  it('the worker exports process, Temporal SDK and operator metrics that move as it works', async () => {
    const before = await scrape(workerBase);
    expect(sum(before, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    const name = uniqueName('web');
    await createServicesWithProxies(testKubeConfig(), {
      namespace,
      name,
      operatorLabels: operator.labels,
      tailnet: tailnet.name,
      vipService: { name: `svc:${name}`, ports: ['tcp:443'], tags: ['tag:web'] },
    });
    const grew = (samples: Sample[], name: string, labels: Record<string, string>) =>
      sum(samples, name, labels) > sum(before, name, labels);
    const after = await eventually('a VIP service created and its status published, as counted', async () => {
      const samples = await scrape(workerBase);
      return grew(samples, 'tsgw_vip_service_operations_total', {
        operation: 'attach',
        outcome: 'Created',
      }) && grew(samples, 'tsgw_reconciles_total', { kind: 'TailscaleServices', status: 'True' })
        ? samples
        : undefined;
    });
    const operations = [
      ...new Set(
        after.filter((s) => s.name === 'tsgw_tailscale_api_requests_total').map((s) => s.labels.operation),
      ),
    ];
    expect(operations).toContain('PUT /api/v2/tailnet/{}/vip-services/{}');
    // Path identifiers are templated away: label values stay few however many objects exist.
    expect(after.some((s) => s.labels.operation?.includes(name))).toBe(false);
    expect(sum(after, 'temporal_activity_execution_latency_count')).toBeGreaterThan(0);
    expect(sum(after, 'temporal_workflow_task_execution_latency_count')).toBeGreaterThan(0);
  });

  it('the watchers export their informers, signals and leadership', async () => {
    const samples = await eventually('informers listed', async () => {
      const s = await scrape(watchersBase);
      return sum(s, 'tsgw_informer_lists_total') > 0 ? s : undefined;
    });
    expect(sum(samples, 'tsgw_watchers_leader')).toBe(1);
    expect(sum(samples, 'tsgw_signals_total', { outcome: 'delivered' })).toBeGreaterThan(0);
    expect(sum(samples, 'tsgw_watch_event_to_signal_seconds_count')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'tsgw_informer_synced' && s.value === 1)).toBe(true);
    expect(sum(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('the extension exports its hook and index metrics beside the process metrics', async () => {
    const samples = await eventually('index loaded', async () => {
      const s = await scrape(extension.httpBase);
      return sum(s, 'tsgw_extension_index_loaded') === 1 ? s : undefined;
    });
    expect(sum(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('the dashboard and the alert rules name only metrics the processes export', async () => {
    const exported = new Set<string>();
    for (const base of [workerBase, watchersBase, extension.httpBase]) {
      const text = await scrapeText(base);
      for (const s of parseExposition(text)) exported.add(s.name);
      for (const name of declaredMetrics(text)) exported.add(name);
    }
    const dashboard = JSON.parse(
      readFileSync(join(chartPath(), 'files', 'grafana-dashboard.json'), 'utf8'),
    ) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const rules = parse(readFileSync(join(chartPath(), 'files', 'prometheus-rules.yaml'), 'utf8')) as {
      alert: string;
      expr: string;
    }[];
    const exprs = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      ...rules.map((r) => r.expr),
    ];
    expect(dashboard.panels.length).toBeGreaterThan(5);
    expect(rules.length).toBeGreaterThanOrEqual(3);
    const named = new Set(
      exprs.flatMap((e) =>
        [...e.matchAll(/\b(?:tsgw|temporal|process|nodejs)_[a-z0-9_]+/g)].map((m) => m[0]),
      ),
    );
    expect([...named].filter((n) => !exported.has(n))).toEqual([]);
  });
});
