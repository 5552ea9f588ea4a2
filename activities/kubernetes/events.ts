import { createHash } from 'node:crypto';
import {
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type EventsV1Event,
  type KubeConfig,
} from '@kubernetes/client-node';
import { microTime } from '../../runtime/kube';
import type { Logger } from '../../runtime/logger';
import { isConflict, isNotFound, kubeErrorMessage } from './errors';

/** The object an Event is about (events.k8s.io/v1 `regarding`). */
export interface EventSubject {
  apiVersion: string;
  kind: string;
  /**
   * Absent for a cluster-scoped object: the API server accepts its Events only in `default` (or
   * `kube-system`), where a namespace-scoped install has no rights, so such an install records none.
   */
  namespace?: string;
  name: string;
  uid?: string;
}

export interface EventNotice {
  regarding: EventSubject;
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, what happened: `InvalidOAuth`, `VIPServiceCreated`. */
  reason: string;
  /** UpperCamelCase, what the operator did or tried: `Reconcile`, `MintAuthKey`. */
  action: string;
  /** For the user; never a secret. */
  note: string;
}

export interface EventRecorder {
  /** Best effort: an Event that cannot be written is logged at debug and dropped. */
  record(notice: EventNotice): Promise<void>;
}

export const reportingController = 'gateway.tailscale.com/operator';
const maxNoteBytes = 1024;
const maxSeriesAttempts = 3;

/**
 * Writes events.k8s.io/v1 Events. Repeats of one notice (same subject, type, reason, action and note)
 * land on one Event, named by a hash of the notice, whose `series.count` goes up, as client-go's
 * recorder counts isomorphic events. The name is the same in every worker process, so the count holds
 * across processes and activity retries, and a retried activity never adds a second Event.
 */
export function createEventRecorder(
  kc: KubeConfig,
  logger: Logger,
  instance: string,
  /** `default`, or undefined when this install may not write there (watch.namespaces set). */
  clusterScopedNamespace: string | undefined,
): EventRecorder {
  const api = kc.makeApiClient(EventsV1Api);
  return {
    async record(notice) {
      const namespace = notice.regarding.namespace ?? clusterScopedNamespace;
      if (!namespace) return;
      const name = eventName(notice);
      try {
        await createOrCount(api, namespace, name, notice, instance);
      } catch (err) {
        logger.debug('event not recorded', {
          reason: notice.reason,
          object: `${notice.regarding.kind} ${namespace}/${notice.regarding.name}`,
          error: kubeErrorMessage(err),
        });
      }
    },
  };
}

async function createOrCount(
  api: EventsV1Api,
  namespace: string,
  name: string,
  notice: EventNotice,
  instance: string,
): Promise<void> {
  const now = microTime(new Date());
  try {
    await api.createNamespacedEvent({ namespace, body: newEvent(namespace, name, notice, instance, now) });
    return;
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  for (let attempt = 1; ; attempt++) {
    let current: EventsV1Event;
    try {
      current = await api.readNamespacedEvent({ name, namespace });
    } catch (err) {
      // Expired (the API server's event TTL) between our create and read: start a new one.
      if (!isNotFound(err)) throw err;
      await api.createNamespacedEvent({ namespace, body: newEvent(namespace, name, notice, instance, now) });
      return;
    }
    // resourceVersion makes the merge patch conditional: two workers counting at once both count.
    const body = {
      metadata: { resourceVersion: current.metadata?.resourceVersion },
      series: { count: (current.series?.count ?? 1) + 1, lastObservedTime: now },
    };
    try {
      await api.patchNamespacedEvent(
        { name, namespace, body },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= maxSeriesAttempts) throw err;
    }
  }
}

function newEvent(
  namespace: string,
  name: string,
  notice: EventNotice,
  instance: string,
  now: string,
): EventsV1Event {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name, namespace },
    // MicroTime needs six fractional digits; client-node would serialise a Date with three.
    eventTime: now as unknown as Date,
    reportingController,
    reportingInstance: instance,
    action: notice.action,
    reason: notice.reason,
    note: truncateUtf8(notice.note, maxNoteBytes),
    type: notice.type,
    regarding: { ...notice.regarding, namespace: notice.regarding.namespace },
  };
}

/** `<object name>.<hash of the notice>`: stable, unique per notice, a valid object name. */
export function eventName(notice: EventNotice): string {
  const { regarding } = notice;
  const hash = createHash('sha256')
    .update(
      JSON.stringify([
        regarding.apiVersion,
        regarding.kind,
        regarding.namespace ?? '',
        regarding.name,
        regarding.uid ?? '',
        notice.type,
        notice.reason,
        notice.action,
        notice.note,
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  return `${regarding.name.slice(0, 253 - hash.length - 1)}.${hash}`;
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = text;
  while (Buffer.byteLength(out) > maxBytes - 3) out = out.slice(0, -1);
  return `${out}...`;
}
