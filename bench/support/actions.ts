/**
 * Temporal actions counted from the histories of every workflow on a task queue, by Temporal Cloud's
 * billing rules (https://docs.temporal.io/cloud/actions): a workflow start (client, signal-with-start,
 * continue-as-new, child) = 1, plus 1 on the parent for a child; every timer started (including the
 * implicit timer of `condition(fn, timeout)`); every signal received (signal-with-start counts once);
 * every activity scheduled plus every retry attempt; every search-attribute upsert. Memo upserts and
 * markers are listed but not counted.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { inParallel } from './objects';
import { table } from './report';

export interface ActionCounts {
  starts: number;
  timers: number;
  signals: number;
  activities: number;
  activityRetries: number;
  /** Workflow tasks that ran local activities (all of one task's local activities = 1 action). */
  localActivityTasks: number;
  childStarts: number;
  searchAttributeUpserts: number;
  /** Not billed (§8); listed to show what the histories hold. */
  memoUpserts: number;
  total: number;
}

export interface ActionReport {
  workflows: number;
  runs: number;
  total: ActionCounts;
  byWorkflowType: Record<string, ActionCounts & { workflows: number }>;
  /** Activity scheduling counts by activity type (where the activity actions go). */
  byActivity: Record<string, number>;
  /**
   * Where the time goes, from the same histories (ms, p50/p99): per activity type, waiting in the task
   * queue (scheduled → started) and running (started → closed); the same for workflow tasks.
   */
  latencies: Record<
    string,
    { n: number; queueP50: number; queueP99: number; runP50: number; runP99: number }
  >;
  /** The longest history among the runs (all its events, in or out of the window; bytes as stored). */
  largestHistory: { workflowId: string; type: string; events: number; bytes: number };
}

const empty = (): ActionCounts => ({
  starts: 0,
  timers: 0,
  signals: 0,
  activities: 0,
  activityRetries: 0,
  localActivityTasks: 0,
  childStarts: 0,
  searchAttributeUpserts: 0,
  memoUpserts: 0,
  total: 0,
});

export interface EventLike {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  workflowTaskScheduledEventAttributes?: unknown;
  workflowTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskCompletedEventAttributes?: { scheduledEventId?: unknown; startedEventId?: unknown } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown; startedEventId?: unknown } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: unknown; startedEventId?: unknown } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: unknown; startedEventId?: unknown } | null;
  workflowExecutionStartedEventAttributes?: unknown;
  workflowExecutionSignaledEventAttributes?: { signalName?: string | null } | null;
  timerStartedEventAttributes?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { attempt?: number | null; scheduledEventId?: unknown } | null;
  startChildWorkflowExecutionInitiatedEventAttributes?: unknown;
  upsertWorkflowSearchAttributesEventAttributes?: unknown;
  workflowPropertiesModifiedEventAttributes?: unknown;
  markerRecordedEventAttributes?: {
    markerName?: string | null;
    workflowTaskCompletedEventId?: unknown;
    details?: Record<string, { payloads?: { data?: Uint8Array | string | null }[] | null }> | null;
  } | null;
}

/** The activity type a local-activity marker recorded. */
export function localActivityType(marker: NonNullable<EventLike['markerRecordedEventAttributes']>): string {
  try {
    const data = marker.details?.data?.payloads?.[0]?.data;
    // Uint8Array from the API; base64 text in a history saved as JSON.
    const bytes =
      typeof data === 'string' ? Buffer.from(data, 'base64') : data ? Buffer.from(data) : undefined;
    const parsed = bytes ? (JSON.parse(bytes.toString('utf8')) as { activity_type?: string }) : {};
    return parsed.activity_type ?? '?';
  } catch {
    return '?';
  }
}

export function eventMs(e: EventLike): number {
  const t = e.eventTime;
  if (!t) return 0;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

function add(into: ActionCounts, from: ActionCounts): void {
  for (const key of Object.keys(from) as (keyof ActionCounts)[]) into[key] += from[key];
}

/** Counts the billed actions in one history whose events fall in [fromMs, toMs] (wall clock, ms). */
export function countHistory(
  events: readonly EventLike[],
  window: { fromMs: number; toMs: number },
  byActivity: Record<string, number> = {},
): ActionCounts {
  const c = empty();
  const localTasks = new Set<string>();
  events.forEach((e, i) => {
    const at = eventMs(e);
    if (at < window.fromMs || at > window.toMs) return;
    if (e.workflowExecutionStartedEventAttributes) c.starts++;
    else if (e.workflowExecutionSignaledEventAttributes) {
      // Signal-with-start of a new run: the start and its signal are one action.
      const withStart = i === 1 && Boolean(events[0]?.workflowExecutionStartedEventAttributes);
      if (!withStart) c.signals++;
    } else if (e.timerStartedEventAttributes) c.timers++;
    else if (e.activityTaskScheduledEventAttributes) {
      c.activities++;
      const name = e.activityTaskScheduledEventAttributes.activityType?.name ?? '?';
      byActivity[name] = (byActivity[name] ?? 0) + 1;
    } else if (e.activityTaskStartedEventAttributes) {
      c.activityRetries += Math.max(0, (e.activityTaskStartedEventAttributes.attempt ?? 1) - 1);
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) c.childStarts++;
    else if (e.upsertWorkflowSearchAttributesEventAttributes) c.searchAttributeUpserts++;
    else if (e.workflowPropertiesModifiedEventAttributes) c.memoUpserts++;
    else if (e.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      localTasks.add(String(e.markerRecordedEventAttributes.workflowTaskCompletedEventId));
      const name = `${localActivityType(e.markerRecordedEventAttributes)} (local)`;
      byActivity[name] = (byActivity[name] ?? 0) + 1;
    }
  });
  c.localActivityTasks = localTasks.size;
  c.total =
    c.starts +
    c.timers +
    c.signals +
    c.activities +
    c.activityRetries +
    c.localActivityTasks +
    c.childStarts +
    c.searchAttributeUpserts;
  return c;
}

type Durations = Map<string, { queue: number[]; run: number[] }>;

/** When a workflow or activity task was scheduled, started and closed (ms), from the event that closed it. */
export function taskTimes(
  byId: ReadonlyMap<string, EventLike>,
  closed: EventLike,
  ids: { scheduledEventId?: unknown; startedEventId?: unknown },
): { scheduledMs: number; startedMs: number; closedMs: number } | undefined {
  const scheduled = byId.get(String(ids.scheduledEventId));
  const started = byId.get(String(ids.startedEventId));
  if (!scheduled || !started) return undefined;
  return { scheduledMs: eventMs(scheduled), startedMs: eventMs(started), closedMs: eventMs(closed) };
}

/** Queue wait and run time of every activity and workflow task that closed in the window. */
export function collectLatencies(
  events: readonly EventLike[],
  window: { fromMs: number; toMs: number },
  into: Durations,
) {
  const byId = new Map<string, EventLike>();
  for (const e of events) byId.set(String(e.eventId), e);
  const record = (name: string, closed: EventLike, ids: Parameters<typeof taskTimes>[2]) => {
    const times = taskTimes(byId, closed, ids);
    if (!times || times.closedMs < window.fromMs || times.closedMs > window.toMs) return;
    const slot = into.get(name) ?? { queue: [], run: [] };
    slot.queue.push(times.startedMs - times.scheduledMs);
    slot.run.push(times.closedMs - times.startedMs);
    into.set(name, slot);
  };
  for (const e of events) {
    const done =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    if (done) {
      const scheduled = byId.get(String(done.scheduledEventId));
      const name = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      record(`activity ${name}`, e, done);
    }
    const wft = e.workflowTaskCompletedEventAttributes;
    if (wft) record('(workflow task)', e, wft);
  }
}

function latencySummary(d: Durations): ActionReport['latencies'] {
  const out: ActionReport['latencies'] = {};
  const at = (sorted: number[], q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
  for (const [name, { queue, run }] of [...d].sort((a, b) => a[0].localeCompare(b[0]))) {
    queue.sort((a, b) => a - b);
    run.sort((a, b) => a - b);
    out[name] = {
      n: queue.length,
      queueP50: at(queue, 0.5),
      queueP99: at(queue, 0.99),
      runP50: at(run, 0.5),
      runP99: at(run, 0.99),
    };
  }
  return out;
}

/** Every run of every workflow on `taskQueue`, its events in the window counted. */
export async function countActions(
  client: Client,
  taskQueue: string,
  window: { fromMs: number; toMs: number },
): Promise<ActionReport> {
  const runs: { workflowId: string; runId: string; type: string }[] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
    runs.push({ workflowId: wf.workflowId, runId: wf.runId, type: wf.type });
  }
  const report: ActionReport = {
    workflows: new Set(runs.map((r) => r.workflowId)).size,
    runs: runs.length,
    total: empty(),
    byWorkflowType: {},
    byActivity: {},
    latencies: {},
    largestHistory: { workflowId: '', type: '', events: 0, bytes: 0 },
  };
  const durations: Durations = new Map();
  const workflowsByType = new Map<string, Set<string>>();
  await inParallel(runs, 8, async (run) => {
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const events = (history.events ?? []) as EventLike[];
    if (events.length > report.largestHistory.events) {
      const bytes = temporal.api.history.v1.History.encode(history).finish().length;
      report.largestHistory = { workflowId: run.workflowId, type: run.type, events: events.length, bytes };
    }
    const counts = countHistory(events, window, report.byActivity);
    collectLatencies(events, window, durations);
    const slot = (report.byWorkflowType[run.type] ??= { ...empty(), workflows: 0 });
    add(slot, counts);
    add(report.total, counts);
    const ids = workflowsByType.get(run.type) ?? new Set<string>();
    ids.add(run.workflowId);
    workflowsByType.set(run.type, ids);
  });
  for (const [type, ids] of workflowsByType) report.byWorkflowType[type]!.workflows = ids.size;
  report.latencies = latencySummary(durations);
  return report;
}

/** The actions by workflow type, then the activities scheduled, most first: as every bench prints them. */
export function actionsTable(actions: Pick<ActionReport, 'byWorkflowType' | 'byActivity'>): string {
  return [
    table(
      ['workflow type', 'workflows', 'starts', 'signals', 'timers', 'activities', 'retries', 'total'],
      Object.entries(actions.byWorkflowType).map(([t, c]) => [
        t,
        c.workflows,
        c.starts,
        c.signals,
        c.timers,
        c.activities,
        c.activityRetries,
        c.total,
      ]),
    ),
    table(
      ['activity', 'scheduled'],
      Object.entries(actions.byActivity).sort((a, b) => b[1] - a[1]),
    ),
  ].join('\n');
}
