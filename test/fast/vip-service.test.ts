import { ApplicationFailure } from '@temporalio/common';
import { vipConsumerSignal } from '../../workflows/messages';
import { consumer, startVipService, upToDate } from './vip-fixtures';
import { nthCall, scaledMs, timerDurations, useWorkflowTier } from '../support/workflow-env';

const tier = useWorkflowTier();

const hour = 3_600_000;

describe('VIP service workflow', () => {
  test('re-verifies an attached service every 4 simulated hours, and lingers 2 min once its last consumer left', async () => {
    const third = nthCall(3);
    const attached: string[][] = [];
    let detaches = 0;
    const activities = {
      attachVipService(input: { routes: string[] }) {
        attached.push(input.routes);
        third.count();
        return Promise.resolve(upToDate);
      },
      // Detached, then (the settle check's read) nothing left to detach.
      detachVipService() {
        const outcome = detaches++ ? 'NotAttached' : 'Detached';
        return Promise.resolve({ outcome, consumers: 0, message: outcome, lostUpdates: 0 });
      },
    };
    const timers = await tier.run(activities, async (taskQueue) => {
      const handle = await startVipService(
        tier.env.client,
        taskQueue,
        { tailnet: 'tailnet-a', serviceName: 'svc:recheck' },
        consumer('web'),
      );
      await third.reached;
      await handle.signal(vipConsumerSignal, { ...consumer('web', 2), remove: true });
      await handle.result();
      return timerDurations(handle);
    });
    expect(attached.slice(0, 3)).toEqual([
      ['services/default/web'],
      ['services/default/web'],
      ['services/default/web'],
    ]);
    // Two rechecks fired (a third timer starts only if the removal came after the third pass's task
    // completed); then the settle check after the detach, and the idle grace.
    expect(timers.slice(0, 2)).toEqual([scaledMs(4 * hour), scaledMs(4 * hour)]);
    expect(timers.slice(-2)).toEqual([scaledMs(3000), scaledMs(2 * 60_000)]);
  });

  test('backs off 10 s, 20 s, ... after failures, capped at 15 min', async () => {
    const failures = 10;
    const recovered = nthCall(failures + 1);
    const activities = {
      attachVipService() {
        if (recovered.count() <= failures) throw ApplicationFailure.nonRetryable('API down', 'Unavailable');
        return Promise.resolve(upToDate);
      },
      detachVipService() {
        throw new Error('not expected');
      },
    };
    const timers = await tier.run(activities, async (taskQueue) => {
      const handle = await startVipService(
        tier.env.client,
        taskQueue,
        { tailnet: 'tailnet-a', serviceName: 'svc:backoff' },
        consumer('api'),
      );
      await recovered.reached;
      const durations = await timerDurations(handle);
      await handle.terminate('test done');
      return durations;
    });
    const expected = [10, 20, 40, 80, 160, 320, 640, 900, 900, 900].map((s) => scaledMs(s * 1000));
    expect(timers.slice(0, failures)).toEqual(expected);
  });
});
