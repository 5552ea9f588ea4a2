/**
 * Replays one workflow's recorded history against the current workflow code and reports the first
 * non-determinism with the event it diverged at. Usage:
 *   node dist/tools/replay.js --workflow-id vip/tailnet/svc:web [--run-id R] [--save file.json]
 *   node dist/tools/replay.js --file test/replay/tailscale-tailnet/basic.json [--bundle other-bundle.js]
 * Temporal connection settings come from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_TLS* / TEMPORAL_API_KEY.
 * --bundle replays against another workflow bundle than dist/workflow-bundle.js (e.g. one built from
 * another commit by tools/bundle-workflows.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, makeTelemetryFilterString, Runtime, Worker } from '@temporalio/worker';
import { loadTemporalConfig } from '../runtime/config';
import { temporalConnectionOptions } from '../runtime/temporal';
import { workflowBundleFile } from './bundle-workflows';

type History = temporal.api.history.v1.IHistory;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface DivergingEvent {
  eventId: number;
  /** e.g. ActivityTaskScheduled */
  eventType: string;
  /** What the event names: the activity type, timer, signal or child workflow. */
  detail?: string;
}

export interface ReplayOutcome {
  ok: boolean;
  /** The SDK's verdict, e.g. "[TMPRL1100] Nondeterminism error: Activity type of scheduled event ...". */
  error?: string;
  /** The first recorded event the current code disagrees with (non-determinism only). */
  divergingEvent?: DivergingEvent;
  eventCount: number;
}

async function replayOnce(
  history: History,
  workflowId: string,
  bundlePath: string,
): Promise<string | undefined> {
  try {
    await Worker.runReplayHistory({ workflowBundle: { codePath: bundlePath } }, history, workflowId);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const isNonDeterminism = (error: string) => /TMPRL1100|nondetermin/i.test(error);

/** The core SDK's own sentence out of the Rust debug dump the replayer wraps it in. */
export function conciseError(error: string): string {
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(error)?.[1];
  return inner ? inner.replace(/\\(.)/g, '$1') : error;
}

export async function replayHistory(
  history: History,
  workflowId = 'replay',
  bundlePath = workflowBundleFile,
): Promise<ReplayOutcome> {
  const eventCount = history.events?.length ?? 0;
  const error = await replayOnce(history, workflowId, bundlePath);
  if (error === undefined) return { ok: true, eventCount };
  const divergingEvent = isNonDeterminism(error)
    ? await findDivergingEvent(history, workflowId, bundlePath)
    : undefined;
  return { ok: false, error, divergingEvent, eventCount };
}

/**
 * The SDK says what disagreed but not where. A history cut short is a running workflow's history, which
 * replays fine up to the first event the code no longer produces; so the shortest failing prefix ends at
 * the diverging event. Binary search: about log2(events) replays.
 */
async function findDivergingEvent(
  history: History,
  workflowId: string,
  bundlePath: string,
): Promise<DivergingEvent | undefined> {
  const events = history.events ?? [];
  let good = 0;
  let bad = events.length;
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    const error = await replayOnce({ events: events.slice(0, mid) }, workflowId, bundlePath);
    if (error !== undefined && isNonDeterminism(error)) bad = mid;
    else good = mid;
  }
  const event = events[bad - 1];
  return event ? describeEvent(event) : undefined;
}

export function describeEvent(event: HistoryEvent): DivergingEvent {
  const name = temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? String(event.eventType);
  const eventType = name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
  const detail =
    event.activityTaskScheduledEventAttributes?.activityType?.name ??
    event.timerStartedEventAttributes?.timerId ??
    event.workflowExecutionSignaledEventAttributes?.signalName ??
    event.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName ??
    event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ??
    undefined;
  return { eventId: Number(event.eventId ?? 0), eventType, detail: detail ?? undefined };
}

export async function fetchWorkflowHistory(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<History> {
  return client.workflow.getHandle(workflowId, runId).fetchHistory();
}

/**
 * One line for a history that could not be fetched (the id is unknown, the server unreachable), instead
 * of the gRPC error with its stack.
 */
export function fetchFailure(
  err: unknown,
  where: { workflowId: string; runId?: string; namespace: string; address: string },
): string {
  const run = where.runId ? ` (run ${where.runId})` : '';
  if (isGrpcServiceError(err)) {
    if (err.code === GrpcStatus.NOT_FOUND)
      return `replay: no workflow ${where.workflowId}${run} in namespace ${where.namespace} at ${where.address}`;
    if (err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED)
      return `replay: cannot reach Temporal at ${where.address}: ${err.details}`;
    return `replay: fetching ${where.workflowId}${run} failed: ${err.details || err.message}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `replay: fetching ${where.workflowId}${run} from ${where.address} failed: ${message.split('\n')[0]}`;
}

export function loadHistoryFile(path: string): History {
  return historyFromJSON(JSON.parse(readFileSync(path, 'utf8')));
}

export function saveHistoryFile(path: string, history: History): void {
  writeFileSync(path, JSON.stringify(JSON.parse(historyToJSON(history)), null, 1) + '\n');
}

const fetchTimeoutMs = 60_000;

async function main() {
  const { values } = parseArgs({
    options: {
      'workflow-id': { type: 'string' },
      'run-id': { type: 'string' },
      file: { type: 'string' },
      save: { type: 'string' },
      bundle: { type: 'string' },
    },
  });
  // The replay worker's own lifecycle lines ("Worker state changed ...") would bury the one line that
  // matters; the divergence itself comes back as the replay's error, not as a log line.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }), forward: {} } },
  });
  let history: History;
  const workflowId = values['workflow-id'] ?? values.file ?? 'replay';
  if (values.file) {
    history = loadHistoryFile(values.file);
  } else if (values['workflow-id']) {
    const config = loadTemporalConfig();
    const where = {
      workflowId: values['workflow-id'],
      runId: values['run-id'],
      namespace: config.namespace,
      address: config.address,
    };
    let connection: Connection | undefined;
    let fetched: History | undefined;
    let failure: string | undefined;
    try {
      connection = await Connection.connect(temporalConnectionOptions(config));
      const client = new Client({ connection, namespace: config.namespace });
      fetched = await connection.withDeadline(Date.now() + fetchTimeoutMs, () =>
        fetchWorkflowHistory(client, where.workflowId, where.runId),
      );
    } catch (err) {
      failure = fetchFailure(err, where);
    } finally {
      await connection?.close();
    }
    if (!fetched) {
      console.error(failure);
      process.exit(1);
    }
    history = fetched;
  } else {
    console.error(
      'usage: replay --workflow-id <id> [--run-id <run>] [--save <file>] | --file <history.json>  [--bundle <workflow-bundle.js>]',
    );
    process.exit(2);
  }
  if (values.save) {
    saveHistoryFile(values.save, history);
    console.log(`saved ${history.events?.length ?? 0} events to ${values.save}`);
  }
  const outcome = await replayHistory(history, workflowId, values.bundle);
  if (outcome.ok) {
    console.log(
      `replay OK: ${workflowId} (${outcome.eventCount} events) is deterministic under the current code`,
    );
  } else {
    const at = outcome.divergingEvent;
    console.log(
      `replay FAILED: ${workflowId} diverges from the current code\n` +
        (at ? `  at event ${at.eventId}: ${at.eventType}${at.detail ? ` (${at.detail})` : ''}\n` : '') +
        `  ${conciseError(outcome.error ?? '')}`,
    );
    process.exit(1);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
