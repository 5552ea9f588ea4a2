/**
 * How much work the worker has done: workflow tasks and activities it ran, from the Temporal SDK's own
 * Prometheus counters (the worker's TEMPORAL_METRICS_ADDRESS). A restarted worker starts from 0.
 */
import { createServer } from 'node:net';

/** A loopback address with a free port, for TEMPORAL_METRICS_ADDRESS. */
export async function freeAddress(): Promise<string> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(`127.0.0.1:${port}`));
    });
  });
}

const taskCounters = /^temporal_(workflow_task_execution_latency|activity_execution_latency)\w*_count\b/;

/** Workflow tasks + activity executions so far; undefined while the worker does not answer. */
export async function workerTaskCount(address: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return undefined;
    let n = 0;
    for (const line of (await res.text()).split('\n')) {
      if (taskCounters.test(line)) n += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return n;
  } catch {
    return undefined;
  }
}

/**
 * The watchers' progress from their /metrics (HEALTH_ADDRESS): whether every informer has listed, and
 * how many changes the signaler has handled (delivered or skipped). Undefined while they do not answer.
 */
export async function watchersProgress(
  address: string,
): Promise<{ synced: boolean; signals: number } | undefined> {
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return undefined;
    let informers = 0;
    let synced = 0;
    let signals = 0;
    for (const line of (await res.text()).split('\n')) {
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (line.startsWith('tsgw_informer_synced')) {
        informers++;
        if (value === 1) synced++;
      } else if (line.startsWith('tsgw_signals_total')) signals += value;
    }
    return { synced: informers > 0 && synced === informers, signals };
  } catch {
    return undefined;
  }
}
