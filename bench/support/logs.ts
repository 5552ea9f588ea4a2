import { existsSync, readFileSync } from 'node:fs';

/** Warnings and errors an operator process logged (JSON lines), grouped by message: what went wrong under load. */
export function logProblems(file: string): Record<string, number> {
  if (!existsSync(file)) return {};
  const out: Record<string, number> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"level":"warn"') && !line.includes('"level":"error"')) continue;
    try {
      const entry = JSON.parse(line) as { level: string; msg: string; activityType?: string };
      // Run ids and numbers vary per line; the kind of problem is what counts.
      const msg = entry.msg.replace(/[0-9a-f]{8}-[0-9a-f-]{27}:\d+:\d+ /g, '').replace(/\d+/g, 'N');
      const key = `${entry.level}: ${msg}${entry.activityType ? ` (${entry.activityType})` : ''}`;
      out[key] = (out[key] ?? 0) + 1;
    } catch {
      out['(unparsed)'] = (out['(unparsed)'] ?? 0) + 1;
    }
  }
  return out;
}
