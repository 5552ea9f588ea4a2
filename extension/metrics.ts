/**
 * The extension server's metrics, on prom-client. The process serves them together with Node's
 * process metrics (extension/main.ts passes the process registry); tests get a registry of their own.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type HookOutcome = 'ok' | 'invalid' | 'error';

export interface ExtensionMetrics {
  registry: Registry;
  hookRequests: Counter<'hook' | 'outcome'>;
  hookDuration: Histogram<'hook'>;
  callsRefused: Counter<'method'>;
}

/** Index gauges read the live index at scrape time. */
export interface IndexGauges {
  size: () => number;
  ageSeconds: () => number;
  version: () => number;
  loaded: () => boolean;
}

export function createExtensionMetrics(index: IndexGauges, registry = new Registry()): ExtensionMetrics {
  const registers = [registry];
  const hookRequests = new Counter({
    name: 'tsgw_extension_hook_requests_total',
    help: 'Hook calls by hook and outcome (ok, invalid, error).',
    labelNames: ['hook', 'outcome'] as const,
    registers,
  });
  const hookDuration = new Histogram({
    name: 'tsgw_extension_hook_duration_seconds',
    help: 'Time spent in a hook handler, decode to encode.',
    labelNames: ['hook'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  gauge('tsgw_extension_index_objects', 'Backends, gateways and policies in the index.', index.size);
  gauge(
    'tsgw_extension_index_age_seconds',
    'Seconds since the index was last rebuilt or confirmed.',
    index.ageSeconds,
  );
  gauge('tsgw_extension_index_version', 'Snapshots built since start.', index.version);
  gauge('tsgw_extension_index_loaded', '1 once every watched kind has listed.', () =>
    index.loaded() ? 1 : 0,
  );
  const callsRefused = new Counter({
    name: 'tsgw_extension_calls_refused_total',
    help: 'Calls answered RESOURCE_EXHAUSTED: every slot running and the queue full (by method).',
    labelNames: ['method'] as const,
    registers,
  });
  return { registry, hookRequests, hookDuration, callsRefused };
}
