/**
 * The process's Prometheus registry (prom-client). Each process registers its own metrics on it where
 * they are measured, and serves it on `/metrics`: the worker and watchers on their health port, the
 * extension server on its side port.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const metricsRegistry = new Registry();

let processMetricsOn = false;

/** Node's process metrics (CPU, memory, event loop lag, GC). Prometheus's target labels name the process. */
export function collectProcessMetrics(): void {
  if (processMetricsOn) return;
  processMetricsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

export const metricsContentType = metricsRegistry.contentType;

/** The registry's exposition, followed by any extra text sources (the Temporal SDK's own exporter). */
export async function renderMetrics(extra: (() => Promise<string>)[] = []): Promise<string> {
  const parts = [await metricsRegistry.metrics(), ...(await Promise.all(extra.map((source) => source())))];
  return parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}
