/** A process's Prometheus /metrics, read as Prometheus would, and the port its health server took. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestOperator } from './operator';
import { eventually } from './eventually';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format strictly enough that a malformed line fails the test. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    const value = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    // Prometheus reads NaN in any case; prom-client writes `Nan` (an event-loop lag not yet sampled).
    if (Number.isNaN(value) && m[3]!.toLowerCase() !== 'nan') throw new Error(`bad value in: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

export const sum = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The port a process's health server reported in its log (`health server listening`). */
export async function healthPortOf(logFile: string): Promise<number> {
  return eventually(`health server port in ${logFile}`, () => {
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (!line.includes('health server listening')) continue;
      return (JSON.parse(line) as { port: number }).port;
    }
    return undefined;
  });
}

export async function scrapeText(base: string): Promise<string> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

export const scrape = async (base: string) => parseExposition(await scrapeText(base));

/** The operator watchers' /metrics base URL (the operator needs HEALTH_ADDRESS set, e.g. 127.0.0.1:0). */
export const watchersMetricsBase = async (operator: TestOperator) =>
  `http://127.0.0.1:${await healthPortOf(join(operator.logDir, 'watchers.log'))}`;

/** Changes the watchers dropped as identical to what the workflow already has. */
export const signalsSkippedUnchanged = async (base: string) =>
  sum(await scrape(base), 'tsgw_signals_total', { outcome: 'skipped_unchanged' });

/** Changes the watchers dropped as the echo of a finalizer our workflow added and holds. */
export const signalsSkippedOwnFinalizer = async (base: string) =>
  sum(await scrape(base), 'tsgw_signals_total', { outcome: 'skipped_own_finalizer' });
