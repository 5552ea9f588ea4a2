import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countHistory } from '../../bench/support/actions';

/** The recorded services history (test/replay) counted by Temporal Cloud's action rules (https://docs.temporal.io/cloud/actions). */
describe('Temporal actions counted from a history', () => {
  it('counts starts, signals, timers and one action per workflow task that ran local activities', () => {
    const history = JSON.parse(
      readFileSync(join(__dirname, '../replay/tailscale-services/create-update-delete.json'), 'utf8'),
    ) as { events: { eventTime: string; eventType: string }[] };
    const events = history.events.map((e) => ({
      ...e,
      eventTime: { seconds: Date.parse(e.eventTime) / 1000 },
    }));
    const byActivity: Record<string, number> = {};
    const c = countHistory(events, { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }, byActivity);
    const ofType = (t: string) => history.events.filter((e) => e.eventType === `EVENT_TYPE_${t}`).length;
    expect(c.starts).toBe(1);
    expect(c.timers).toBe(ofType('TIMER_STARTED'));
    // The first signal came with the start (signal-with-start: one action for both).
    expect(c.signals).toBe(ofType('WORKFLOW_EXECUTION_SIGNALED') - 1);
    expect(c.localActivityTasks).toBeGreaterThan(0);
    expect(c.localActivityTasks).toBeLessThan(ofType('MARKER_RECORDED'));
    // A patch's first use upserts the TemporalChangeVersion search attribute: one action too.
    expect(c.searchAttributeUpserts).toBeGreaterThan(0);
    expect(c.total).toBe(c.starts + c.timers + c.signals + c.localActivityTasks + c.searchAttributeUpserts);
    expect(byActivity['patchStatus (local)']).toBeGreaterThan(0);
  });
});
