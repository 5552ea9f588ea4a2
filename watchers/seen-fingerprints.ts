import type { Client } from '@temporalio/client';
import { seenFingerprintMemoKey } from '../workflows/fingerprint';

/**
 * What every running workflow on the task queue has acted on (workflow id → fingerprint), from their
 * memos through one visibility listing: no workflow task runs and no action is billed for it.
 */
export async function readSeenFingerprints(
  client: Client,
  taskQueue: string,
  timeoutMs: number,
): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const listing = (async () => {
    const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
    for await (const wf of client.workflow.list({ query })) {
      const fingerprint = wf.memo?.[seenFingerprintMemoKey];
      if (typeof fingerprint === 'string') seen.set(wf.workflowId, fingerprint);
    }
    return seen;
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`listing workflows took over ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([listing, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
