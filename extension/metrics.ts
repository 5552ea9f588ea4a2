/**
 * A small Prometheus registry (text exposition format 0.0.4): counters and histograms with labels, and
 * gauges read at scrape time. Enough for the extension server; no dependency to pull in.
 */
type Labels = Record<string, string>;

const labelKey = (labels: Labels) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');

interface Metric {
  render(): string[];
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
      ...[...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`),
    ];
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, s] of this.series) {
      const sep = key ? ',' : '';
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{${key}${sep}le="${b}"} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket{${key}${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${key ? `{${key}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${key ? `{${key}}` : ''} ${s.count}`);
    }
    return lines;
  }
}

export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string[] {
    const v = this.read();
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${Number.isFinite(v) ? v : 'NaN'}`,
    ];
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }

  render(): string {
    return this.metrics.flatMap((m) => m.render()).join('\n') + '\n';
  }
}

export type HookOutcome = 'ok' | 'invalid' | 'error';

/** The extension server's metrics. Index gauges read the live index at scrape time. */
export interface ExtensionMetrics {
  registry: Registry;
  hookRequests: Counter;
  hookDuration: Histogram;
}

export interface IndexGauges {
  size: () => number;
  ageSeconds: () => number;
  version: () => number;
  loaded: () => boolean;
}

export function createExtensionMetrics(index: IndexGauges): ExtensionMetrics {
  const registry = new Registry();
  const hookRequests = registry.register(
    new Counter('tsgw_extension_hook_requests_total', 'Hook calls by hook and outcome (ok, invalid, error).'),
  );
  const hookDuration = registry.register(
    new Histogram(
      'tsgw_extension_hook_duration_seconds',
      'Time spent in a hook handler, decode to encode.',
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    ),
  );
  registry.register(
    new Gauge('tsgw_extension_index_objects', 'Backends, gateways and policies in the index.', index.size),
  );
  registry.register(
    new Gauge(
      'tsgw_extension_index_age_seconds',
      'Seconds since the index was last rebuilt or confirmed.',
      index.ageSeconds,
    ),
  );
  registry.register(new Gauge('tsgw_extension_index_version', 'Snapshots built since start.', index.version));
  registry.register(
    new Gauge('tsgw_extension_index_loaded', '1 once every watched kind has listed.', () =>
      index.loaded() ? 1 : 0,
    ),
  );
  return { registry, hookRequests, hookDuration };
}
