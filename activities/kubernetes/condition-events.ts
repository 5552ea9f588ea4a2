import type { Condition } from '../../api/common';
import type { ConditionUpdate } from '../../api/conditions';
import type { EventNotice, EventSubject } from './events';

/** The conditions that sum an object up; their sub-conditions would repeat the same story. */
const summaryTypes = new Set(['Ready', 'Accepted', 'Conflicted']);

/** `False` reasons that mean "in progress": the operator is working, the user has nothing to do. */
const progressReasons = new Set([
  'Pending',
  'Provisioning',
  'Reconciling',
  'Waiting',
  'VIPServicePending',
  'NoProxies',
]);

/**
 * Progress for some kinds only. NoHosts is every new TailscaleServices' state until the proxies the
 * operator runs for it advertise it (seconds; proxies that never do are told by their own parent's
 * Warnings). A TailscaleGateway's published service has no host until its user names a pool or
 * advertises it from proxies of their own: a Warning there.
 */
const progressReasonsOf: Record<string, ReadonlySet<string>> = {
  TailscaleServices: new Set(['NoHosts']),
};

/**
 * The Events a status change tells the user about: a Warning when a summary condition turns to a reason
 * that asks them to act, a Normal when Ready turns True. Only transitions count (a new status or reason),
 * so re-publishing an unchanged status records nothing.
 */
export function eventsForConditions(
  regarding: EventSubject,
  previous: readonly Condition[],
  updates: readonly ConditionUpdate[],
): EventNotice[] {
  const notices: EventNotice[] = [];
  for (const update of updates) {
    if (!summaryTypes.has(update.type)) continue;
    const before = previous.find((c) => c.type === update.type);
    if (before && before.status === update.status && before.reason === update.reason) continue;
    const notice = { regarding, action: 'Reconcile', reason: update.reason, note: update.message };
    if (asksUserToAct(update, regarding.kind)) notices.push({ ...notice, type: 'Warning' });
    else if (update.type === 'Ready' && update.status === 'True' && before?.status !== 'True')
      notices.push({ ...notice, type: 'Normal' });
  }
  return notices;
}

function asksUserToAct(update: ConditionUpdate, kind: string): boolean {
  if (update.type === 'Conflicted') return update.status === 'True';
  const progress = progressReasons.has(update.reason) || progressReasonsOf[kind]?.has(update.reason);
  return update.status === 'False' && !progress;
}
