import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { actionsTable, countHistory } from '../../bench/support/actions';

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

describe('actionsTable', () => {
  it('prints the actions by workflow type, then the activities most scheduled first', () => {
    const counts = { starts: 1, signals: 2, timers: 3, activities: 4, activityRetries: 1, total: 11 };
    const text = actionsTable({
      byWorkflowType: {
        vipServiceWorkflow: {
          ...counts,
          workflows: 2,
          localActivityTasks: 0,
          childStarts: 0,
          searchAttributeUpserts: 0,
          memoUpserts: 0,
        },
      },
      byActivity: { readVipService: 1, attachVipService: 3 },
    });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^workflow type\s+workflows\s+starts\s+signals\s+timers\s+activities\s+retries\s+total$/,
    );
    expect(lines[2]).toMatch(/^vipServiceWorkflow\s+2\s+1\s+2\s+3\s+4\s+1\s+11$/);
    expect(lines.slice(3).filter((l) => /^\w+Vip/.test(l))).toEqual([
      expect.stringMatching(/^attachVipService\s+3$/),
      expect.stringMatching(/^readVipService\s+1$/),
    ]);
  });
});
