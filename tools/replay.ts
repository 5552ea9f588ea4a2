/**
 * Replays one workflow's recorded history against the current workflow code and reports the first
 * non-determinism with the event it diverged at. Usage:
 *   node dist/tools/replay.js --workflow-id vip/tailnet/svc:web [--run-id R] [--save file.json]
 *   node dist/tools/replay.js --file test/replay/tailscale-tailnet/basic.json
 * Temporal connection settings come from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_TLS* / TEMPORAL_API_KEY.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { loadTemporalConfig } from '../runtime/config';
import { temporalConnectionOptions } from '../runtime/temporal';
import { workflowBundleFile } from './bundle-workflows';

type History = temporal.api.history.v1.IHistory;

export interface ReplayOutcome {
  ok: boolean;
  /** The first divergence, e.g. "[TMPRL1100] Nondeterminism error: ... (event 12)". */
  error?: string;
  eventCount: number;
}

export async function replayHistory(history: History, workflowId = 'replay'): Promise<ReplayOutcome> {
  const eventCount = history.events?.length ?? 0;
  try {
    await Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundleFile } }, history, workflowId);
    return { ok: true, eventCount };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err), eventCount };
  }
}

export async function fetchWorkflowHistory(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<History> {
  return client.workflow.getHandle(workflowId, runId).fetchHistory();
}

export function loadHistoryFile(path: string): History {
  return historyFromJSON(JSON.parse(readFileSync(path, 'utf8')));
}

export function saveHistoryFile(path: string, history: History): void {
  writeFileSync(path, JSON.stringify(JSON.parse(historyToJSON(history)), null, 1) + '\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      'workflow-id': { type: 'string' },
      'run-id': { type: 'string' },
      file: { type: 'string' },
      save: { type: 'string' },
    },
  });
  let history: History;
  const workflowId = values['workflow-id'] ?? values.file ?? 'replay';
  if (values.file) {
    history = loadHistoryFile(values.file);
  } else if (values['workflow-id']) {
    const config = loadTemporalConfig();
    const connection = await Connection.connect(temporalConnectionOptions(config));
    try {
      history = await fetchWorkflowHistory(
        new Client({ connection, namespace: config.namespace }),
        values['workflow-id'],
        values['run-id'],
      );
    } finally {
      await connection.close();
    }
  } else {
    console.error(
      'usage: replay --workflow-id <id> [--run-id <run>] [--save <file>] | --file <history.json>',
    );
    process.exit(2);
  }
  if (values.save) {
    saveHistoryFile(values.save, history);
    console.log(`saved ${history.events?.length ?? 0} events to ${values.save}`);
  }
  const outcome = await replayHistory(history, workflowId);
  if (outcome.ok) {
    console.log(
      `replay OK: ${workflowId} (${outcome.eventCount} events) is deterministic under the current code`,
    );
  } else {
    console.log(`replay FAILED: ${workflowId} diverges from the current code\n${outcome.error}`);
    process.exit(1);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
