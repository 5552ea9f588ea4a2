import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { stackInfo } from '../../support/stack';

/**
 * Looks for Tailscale credentials where they must never be: operator log lines and Temporal workflow
 * histories, memos and search attributes. Payload bytes are decoded before matching, including the
 * `{"0":123,...}` byte maps the SDK's debug logs print for activation payloads, so a secret cannot
 * hide in an encoding. Every tskey-… token shaped like a real one counts (OAuth client secrets
 * `tskey-client-…`, access tokens `tskey-api-…`, auth keys `tskey-auth-…`), as does any known secret
 * value or its random tail.
 */
const tokenPattern = /tskey-[a-z]+-[A-Za-z0-9]{4,}-[A-Za-z0-9]{8,}/g;

export interface Leak {
  where: string;
  /** The match with its middle masked, so the report itself does not leak it. */
  sample: string;
}

export interface ScanReport {
  logFiles: number;
  logLines: number;
  workflows: number;
  historyEvents: number;
  leaks: Leak[];
}

const mask = (s: string) => (s.length > 16 ? `${s.slice(0, 14)}…${s.slice(-2)}` : '…');

/** Every string inside `value`, with byte arrays and byte maps decoded as UTF-8. */
function strings(value: unknown, out: string[], depth = 0): void {
  if (depth > 64 || value === null || value === undefined) return;
  if (typeof value === 'string') {
    out.push(value);
    return;
  }
  if (value instanceof Uint8Array) {
    out.push(Buffer.from(value).toString('utf8'));
    return;
  }
  if (Array.isArray(value)) {
    if (value.length && value.every((v) => typeof v === 'number' && v >= 0 && v < 256)) {
      out.push(Buffer.from(value as number[]).toString('utf8'));
      return;
    }
    for (const v of value) strings(v, out, depth + 1);
    return;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const byteMap =
      entries.length > 0 &&
      entries.every(([k, v], i) => k === String(i) && typeof v === 'number' && v >= 0 && v < 256);
    if (byteMap) {
      out.push(Buffer.from(entries.map(([, v]) => v as number)).toString('utf8'));
      return;
    }
    for (const [k, v] of entries) {
      out.push(k);
      strings(v, out, depth + 1);
    }
  }
}

export class SecretScanner {
  readonly report: ScanReport = { logFiles: 0, logLines: 0, workflows: 0, historyEvents: 0, leaks: [] };
  private readonly known: string[];

  /** @param knownSecrets exact secret values handed out in the run (OAuth client secrets...) */
  constructor(knownSecrets: string[] = []) {
    // The random tail alone too, in case something printed a secret without its prefix.
    this.known = knownSecrets.flatMap((s) => [s, s.split('-').pop() ?? '']).filter((s) => s.length >= 16);
  }

  private check(where: string, texts: string[]): void {
    for (const text of texts) {
      for (const match of text.match(tokenPattern) ?? [])
        this.report.leaks.push({ where, sample: mask(match) });
      for (const secret of this.known) {
        if (text.includes(secret)) this.report.leaks.push({ where, sample: mask(secret) });
      }
    }
  }

  /** Every line of every file under `dir` (recursively). */
  scanLogs(dir: string): void {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        this.scanLogs(path);
        continue;
      }
      this.report.logFiles++;
      const lines = readFileSync(path, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (!line) return;
        this.report.logLines++;
        const texts = [line];
        if (line.startsWith('{')) {
          try {
            strings(JSON.parse(line), texts);
          } catch {
            // not JSON: the raw line is checked
          }
        }
        this.check(`${path}:${i + 1}`, texts);
      });
    }
  }

  /** Every workflow execution (open and closed) of `namespace`: history events, memo, search attributes. */
  async scanTemporal(client: Client, label: string, query?: string): Promise<void> {
    for await (const execution of client.workflow.list(query ? { query } : {})) {
      this.report.workflows++;
      const where = `${label} ${execution.workflowId} (${execution.runId})`;
      const texts: string[] = [];
      strings(execution.memo, texts);
      strings(execution.searchAttributes, texts);
      const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      this.report.historyEvents += history.events?.length ?? 0;
      strings(history, texts);
      this.check(where, texts);
    }
  }
}

/**
 * The scan of one fault world: its operator's logs and every workflow its worker ran (by task queue)
 * in its Temporal namespace. Every fault test file ends with it, so the whole suite's artifacts are
 * covered even though the files run in parallel.
 */
export async function scanWorld(
  world: { operator: { logDir: string; taskQueue: string }; tailnet: { oauth: { secret: string } } },
  opts: { temporalAddress?: string; namespace?: string; knownSecrets?: string[] } = {},
): Promise<ScanReport> {
  const scanner = new SecretScanner([world.tailnet.oauth.secret, ...(opts.knownSecrets ?? [])]);
  scanner.scanLogs(world.operator.logDir);
  const connection = await Connection.connect({
    address: opts.temporalAddress ?? stackInfo().temporalAddress,
  });
  try {
    const client = new Client({ connection, namespace: opts.namespace ?? 'default' });
    await scanner.scanTemporal(
      client,
      opts.namespace ?? 'default',
      `TaskQueue = '${world.operator.taskQueue}'`,
    );
  } finally {
    await connection.close();
  }
  return scanner.report;
}
