import type { Client } from '@temporalio/client';
import { eventually } from '../../support/eventually';
import { temporalClient } from '../../support/stack';

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

const ms = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(d?.seconds ?? 0) * 1000 + Math.floor((d?.nanos ?? 0) / 1e6);

/** Why a workflow is not parked, or undefined: its last task done, no timer shorter than `minTimerMs`. */
function notParked(events: HistoryEvent[], minTimerMs: number): string | undefined {
  const lastDone = events.map((e) => !!e.workflowTaskCompletedEventAttributes).lastIndexOf(true);
  if (lastDone < 0 || events.slice(lastDone).some((e) => e.workflowTaskScheduledEventAttributes)) {
    return 'a workflow task is pending';
  }
  const closed = new Set<number>();
  for (const e of events) {
    const startedId = (e.timerFiredEventAttributes ?? e.timerCanceledEventAttributes)?.startedEventId;
    if (startedId !== undefined && startedId !== null) closed.add(Number(startedId));
  }
  const short = events.find(
    (e) =>
      e.timerStartedEventAttributes &&
      !closed.has(Number(e.eventId)) &&
      ms(e.timerStartedEventAttributes.startToFireTimeout) < minTimerMs,
  );
  return short
    ? `a ${ms(short.timerStartedEventAttributes?.startToFireTimeout)} ms timer is open`
    : undefined;
}

/**
 * The quiet point of a "no more calls" check: every running workflow on the task queue has finished
 * its last task, has no activity pending (running or waiting out a retry), and waits only on signals
 * or on timers of at least `minTimerMs`. Until one of those fires, no workflow of the operator can call
 * anything, so counts taken from here on show what idle costs.
 */
export async function waitParked(
  taskQueue: string,
  opts: { minTimerMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const temporal = await temporalClient();
  const { client } = temporal;
  try {
    await eventually(
      `every workflow on ${taskQueue} parked`,
      async () => {
        const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
        for await (const execution of client.workflow.list({ query })) {
          const handle = client.workflow.getHandle(execution.workflowId, execution.runId);
          const pending = (await handle.describe()).raw.pendingActivities ?? [];
          if (pending.length) throw new Error(`${execution.workflowId}: an activity is pending`);
          const why = notParked((await handle.fetchHistory()).events ?? [], opts.minTimerMs ?? 60_000);
          if (why) throw new Error(`${execution.workflowId}: ${why}`);
        }
        return true;
      },
      { timeoutMs: opts.timeoutMs ?? 120_000, intervalMs: 500 },
    );
  } finally {
    await temporal.close();
  }
}
