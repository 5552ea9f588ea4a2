import type { Condition } from '../../../api/common';
import { eventsForConditions } from '../../../activities/kubernetes/condition-events';
import { eventName, type EventNotice } from '../../../activities/kubernetes/events';

const regarding = {
  apiVersion: 'gateway.tailscale.com/v1alpha1',
  kind: 'TailscaleServices',
  namespace: 'team-a',
  name: 'web',
};
const condition = (type: string, status: Condition['status'], reason: string): Condition => ({
  type,
  status,
  reason,
  message: `${type} ${reason}`,
  lastTransitionTime: '2026-12-05T00:00:00Z',
});

describe('eventsForConditions', () => {
  it('warns when a summary condition turns to a reason the user must act on', () => {
    const notices = eventsForConditions(
      regarding,
      [condition('Ready', 'True', 'Ready')],
      [{ type: 'Ready', status: 'False', reason: 'TailnetNotFound', message: 'create it' }],
    );
    expect(notices).toEqual([
      { regarding, type: 'Warning', reason: 'TailnetNotFound', action: 'Reconcile', note: 'create it' },
    ]);
  });

  it('records nothing for an unchanged condition, a progress reason or a sub-condition', () => {
    const previous = [condition('Ready', 'False', 'TailnetNotFound')];
    expect(
      eventsForConditions(regarding, previous, [
        { type: 'Ready', status: 'False', reason: 'TailnetNotFound', message: 'changed wording' },
        { type: 'VIPServiceReady', status: 'False', reason: 'Error', message: 'sub-condition' },
      ]),
    ).toEqual([]);
    expect(
      eventsForConditions(
        regarding,
        [],
        [{ type: 'Ready', status: 'False', reason: 'Pending', message: '' }],
      ),
    ).toEqual([]);
  });

  it('records nothing while a new TailscaleServices waits for its proxies to advertise it (NoHosts)', () => {
    const pending = [condition('Ready', 'False', 'Pending')];
    const noHosts = { type: 'Ready', status: 'False', reason: 'NoHosts', message: 'no device yet' } as const;
    expect(eventsForConditions(regarding, pending, [noHosts])).toEqual([]);
    // A Gateway's published service has no host until its user names a pool: that asks them to act.
    const gateway = { ...regarding, kind: 'TailscaleGateway' };
    expect(eventsForConditions(gateway, pending, [noHosts]).map((n) => [n.type, n.reason])).toEqual([
      ['Warning', 'NoHosts'],
    ]);
  });

  it('tells a new reason of a still-False condition, and Ready turning True', () => {
    const previous = [condition('Ready', 'False', 'TailnetNotFound')];
    const moved = eventsForConditions(regarding, previous, [
      { type: 'Ready', status: 'False', reason: 'InvalidSecret', message: 'm' },
    ]);
    expect(moved.map((n) => [n.type, n.reason])).toEqual([['Warning', 'InvalidSecret']]);
    const ready = eventsForConditions(regarding, previous, [
      { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' },
    ]);
    expect(ready.map((n) => [n.type, n.reason])).toEqual([['Normal', 'Ready']]);
    const conflicted = eventsForConditions(
      regarding,
      [],
      [{ type: 'Conflicted', status: 'True', reason: 'Conflicted', message: 'older policy wins' }],
    );
    expect(conflicted.map((n) => n.type)).toEqual(['Warning']);
  });
});

describe('eventName', () => {
  const notice: EventNotice = { regarding, type: 'Warning', reason: 'X', action: 'Reconcile', note: 'n' };
  it('is the same for the same notice and differs when any part differs', () => {
    expect(eventName(notice)).toBe(eventName({ ...notice }));
    expect(eventName(notice)).toMatch(/^web\.[0-9a-f]{16}$/);
    expect(eventName({ ...notice, note: 'other' })).not.toBe(eventName(notice));
    expect(eventName({ ...notice, regarding: { ...regarding, uid: 'u2' } })).not.toBe(eventName(notice));
  });
});
