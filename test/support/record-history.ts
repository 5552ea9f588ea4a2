import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { repoRoot } from '../../runtime/paths';
import { saveHistoryFile } from '../../tools/replay';

/**
 * With TSGW_RECORD_HISTORIES=1, saves the workflow's history under test/replay/<workflow>/<name>.json,
 * where replay.test.ts replays it against the current code on every run. Re-record only on purpose.
 */
export async function recordHistory(workflow: string, name: string, handle: WorkflowHandle): Promise<void> {
  if (!process.env.TSGW_RECORD_HISTORIES) return;
  const dir = join(repoRoot(), 'test', 'replay', workflow);
  mkdirSync(dir, { recursive: true });
  saveHistoryFile(join(dir, `${name}.json`), await handle.fetchHistory());
}
