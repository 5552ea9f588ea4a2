import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeKeys } from '../../workflows/search-attributes';
import { toolPaths } from './paths';
import { freePort } from './ports';
import { spawnManaged, waitUntil, type ManagedProcess } from './process';

export interface TemporalServerOptions {
  dir: string;
  /** Serve the Web UI (local stack); tests run headless. */
  ui: boolean;
  uiPort?: number;
  port?: number;
  /** Extra Temporal namespaces beside `default` (e.g. one per simulated operator in multi-operator tests). */
  namespaces?: string[];
  /** Server dynamic config, e.g. a low `limit.historyCount.suggestContinueAsNew` to exercise continue-as-new. */
  dynamicConfig?: Record<string, unknown>;
}

export interface TemporalServer {
  address: string;
  uiUrl: string | undefined;
  dbFile: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** The real Temporal server (`temporal server start-dev`), persisted to a SQLite file in `dir`. */
export async function startTemporalServer(opts: TemporalServerOptions): Promise<TemporalServer> {
  mkdirSync(opts.dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const uiPort = opts.ui ? (opts.uiPort ?? (await freePort())) : undefined;
  const dbFile = join(opts.dir, 'temporal.db');
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--db-filename',
    dbFile,
    // SQLite's default rollback journal with a full sync per commit made every workflow task cost ~3x the
    // server CPU (bench/RESULTS.md); WAL keeps the file consistent across crashes of the server process.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--log-level',
    'warn',
    ...(uiPort ? ['--ui-port', String(uiPort)] : ['--headless']),
    ...searchAttributeKeys.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    ...(opts.namespaces ?? []).flatMap((ns) => ['--namespace', ns]),
    ...Object.entries(opts.dynamicConfig ?? {}).flatMap(([key, value]) => [
      '--dynamic-config-value',
      `${key}=${JSON.stringify(value)}`,
    ]),
  ];
  const process = spawnManaged({
    name: 'temporal',
    command: toolPaths().temporal,
    args,
    logFile: join(opts.dir, 'temporal.log'),
  });
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntil('Temporal dev server', () => temporalReady(address), {
      timeoutMs: 60_000,
      process,
      intervalMs: 250,
    });
  } catch (err) {
    await process.stop();
    throw err;
  }
  return {
    address,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    dbFile,
    process,
    stop: () => process.stop(10_000),
  };
}

async function temporalReady(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    return true;
  } finally {
    await connection.close();
  }
}
