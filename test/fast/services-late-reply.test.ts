import { vipStatusSignal } from '../../workflows/messages';
import {
  readinessRecorder,
  replyLater,
  startWebServices,
  timersFired,
  webPassActivities,
  webReport,
  webWorkflowId,
} from './services-fixtures';
import { recordHistory } from '../support/record-history';
import { useWorkflowTier } from '../support/workflow-env';

const tier = useWorkflowTier();

describe('TailscaleServices workflow, VIP workflow slower than the reply wait', () => {
  test('a reply that comes after the pass stopped waiting gets a pass at once, not at the 6 h recheck', async () => {
    const status = readinessRecorder();
    const pending = status.published('Pending');
    let firstRequestId: number | undefined;
    const activities = {
      ...webPassActivities,
      // The VIP workflow's first task waits in a long task queue: its reply to the first join comes
      // after the pass gave up waiting. Later joins are answered at once.
      signalVipService(input: { requestId: number; unlessRunning?: boolean }) {
        if (input.unlessRunning) return Promise.resolve({ signalled: false });
        if (firstRequestId === undefined) firstRequestId = input.requestId;
        else replyLater(tier.env.client, webWorkflowId, webReport(input.requestId, true));
        return Promise.resolve({ signalled: true });
      },
      patchStatus: status.patchStatus,
    };
    const fired = await tier.run(activities, async (taskQueue) => {
      const handle = await startWebServices(tier.env.client, taskQueue);
      await pending;
      await handle.signal(vipStatusSignal, webReport(firstRequestId!, true));
      await status.ready;
      const timers = await timersFired(handle);
      await handle.terminate('test done');
      await recordHistory('tailscale-services', 'late-reply', handle);
      return timers;
    });
    expect(status.reasons[0]).toBe('Pending');
    expect(status.reasons.at(-1)).toBe('Ready');
    // Only the first pass's reply wait fired: the second pass came from the late reply, not the recheck.
    expect(fired).toBe(1);
  });

  test('the late reply acknowledges the change it answers: the pass it wakes sends no second join', async () => {
    const status = readinessRecorder();
    const pending = status.published('Pending');
    const joins: number[] = [];
    const activities = {
      ...webPassActivities,
      // Only a VIP workflow that has to be started again gets a join sent `unlessRunning`.
      signalVipService(input: { requestId: number; unlessRunning?: boolean }) {
        if (input.unlessRunning) return Promise.resolve({ signalled: false });
        joins.push(input.requestId);
        if (joins.length > 1) replyLater(tier.env.client, webWorkflowId, webReport(input.requestId, true));
        return Promise.resolve({ signalled: true });
      },
      patchStatus: status.patchStatus,
    };
    await tier.run(activities, async (taskQueue) => {
      const handle = await startWebServices(tier.env.client, taskQueue);
      await pending;
      await handle.signal(vipStatusSignal, webReport(joins[0]!, true));
      await status.ready;
      await handle.terminate('test done');
      await recordHistory('tailscale-services', 'late-reply-acknowledges', handle);
    });
    expect(status.reasons.at(-1)).toBe('Ready');
    expect(joins).toEqual([1]);
  });
});
