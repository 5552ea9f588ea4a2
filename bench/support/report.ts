/**
 * Output of every benchmark: an aligned table on stdout and the whole result as JSON under
 * bench/results/<name>.json (gitignored), stamped with the date, the machine and its load.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../runtime/paths';
import { machineLoad } from './processes';

export type Row = (string | number)[];

export function table(header: string[], rows: Row[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) =>
    r
      .map((c, i) =>
        typeof c === 'string' && i === 0 ? c.padEnd(widths[i]!) : String(c).padStart(widths[i]!),
      )
      .join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
    '\n',
  );
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summary(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** A table row of one summary, in the columns n, p50, p90, p99, max. */
export const summaryRow = (label: string, s: ReturnType<typeof summary>) => [
  label,
  s.n,
  s.p50,
  s.p90,
  s.p99,
  s.max,
];

/** A table of summaries, one row per `[label, summary]`, under the header summaryRow fills. */
export const summaryTable = (rows: [string, ReturnType<typeof summary>][]) =>
  table(
    ['leg', 'n', 'p50', 'p90', 'p99', 'max'],
    rows.map(([label, s]) => summaryRow(label, s)),
  );

export interface BenchResult<T> {
  benchmark: string;
  date: string;
  host: string;
  machine: ReturnType<typeof machineLoad>;
  options: Record<string, unknown>;
  figures: T;
}

/** Writes bench/results/<name>.json (or under TSGW_BENCH_RESULTS_DIR) and returns its path. */
export function saveResult<T>(name: string, options: Record<string, unknown>, figures: T): string {
  const dir = process.env.TSGW_BENCH_RESULTS_DIR ?? join(repoRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const result: BenchResult<T> = {
    benchmark: name,
    date: new Date().toISOString(),
    host: hostname(),
    machine: machineLoad(),
    options,
    figures,
  };
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

/** `--name value` flags (kebab-case of the defaults' keys) over defaults; numbers stay numbers. */
export function parseFlags<T extends Record<string, number | string | boolean>>(
  argv: readonly string[],
  defaults: T,
): T {
  const flagOf = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const options = Object.fromEntries(
    Object.entries(defaults).map(([key, fallback]) => [
      flagOf(key),
      { type: typeof fallback === 'boolean' ? ('boolean' as const) : ('string' as const) },
    ]),
  );
  const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  const out: Record<string, number | string | boolean> = { ...defaults };
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = values[flagOf(key)];
    if (value === undefined) continue;
    if (typeof fallback !== 'number') out[key] = value;
    else if (!Number.isFinite(Number(value)))
      throw new Error(`--${flagOf(key)} needs a number, got ${String(value)}`);
    else out[key] = Number(value);
  }
  return out as T;
}

export function runMain(main: () => Promise<unknown>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
