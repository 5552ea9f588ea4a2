import type { Activities } from '../../activities';
import { vipHostsChangedSignal, vipStateQuery } from '../../workflows/messages';
import { consumer, startVipService, upToDate } from './vip-fixtures';
import { recordHistory } from '../support/record-history';
import { nthCall, timersStarted, useWorkflowTier } from '../support/workflow-env';

// Timers ten times as long: the 3 s settle read (30 s here) cannot come before the news of hosts.
const tier = useWorkflowTier({ timerScale: 10 });

const host = { name: 'edge-0', nodeId: 'n0', advertising: true, approved: true, tags: ['tag:edge'] };

describe('VIP service workflow, news of hosts', () => {
  test('reads its hosts as soon as a proxy advertises the service, and still reads back its write when due', async () => {
    const second = nthCall(2);
    const answers: Awaited<ReturnType<Activities['attachVipService']>>[] = [
      { ...upToDate, outcome: 'Created', hosts: [] },
      { ...upToDate, hosts: [host] },
    ];
    const activities = {
      attachVipService() {
        const call = second.count();
        return Promise.resolve(answers[Math.min(call, answers.length) - 1]!);
      },
      detachVipService() {
        throw new Error('not expected');
      },
    };
    const { timers, last } = await tier.run(activities, async (taskQueue) => {
      const handle = await startVipService(
        tier.env.client,
        taskQueue,
        { tailnet: 'corp', serviceName: 'svc:web' },
        consumer('web'),
      );
      // The creation's pass ends by starting its settle timer; then a proxy advertises the service.
      await timersStarted(handle, 1, 'the settle timer');
      await handle.signal(vipHostsChangedSignal);
      await second.reached;
      const both = await timersStarted(handle, 2, 'the timer after the read');
      const state = await handle.query(vipStateQuery);
      await handle.terminate('test done');
      await recordHistory('vip-service', 'hosts-news-keeps-settle', handle);
      return { timers: both, last: state.last };
    });
    expect(last?.hosts).toEqual([host]);
    // The read did not replace the settle read of the creation: what is left of it is the next timer.
    const [settle, afterRead] = timers;
    expect(settle).toBe(30_000);
    expect(afterRead).toBeGreaterThan(0);
    expect(afterRead).toBeLessThan(30_000);
  });
});
