import { eventually } from '../support/eventually';
import { historyEvents, timersStarted, useWorkflowTier } from '../support/workflow-env';
import { startWebServices } from './services-fixtures';
import { consumer, startVipService, upToDate } from './vip-fixtures';

const tier = useWorkflowTier();

describe('VIP service workflow, its reports to the consumers', () => {
  test('go out in the workflow task that decided them: a creation takes one task up to its settle timer', async () => {
    const activities = {
      // The consumer, default/web: its pass stops at a tailnet that is not Ready, so it waits.
      ensureFinalizer: () => Promise.resolve({ skipped: false }),
      getTailnetStatus: () =>
        Promise.resolve({ exists: true, ready: false, reason: 'Pending', message: 'not yet' }),
      patchStatus: () => Promise.resolve({}),
      attachVipService: () => Promise.resolve({ ...upToDate, outcome: 'Created' as const }),
    };
    const { vip, reports } = await tier.run(activities, async (taskQueue) => {
      const web = await startWebServices(tier.env.client, taskQueue);
      const handle = await startVipService(
        tier.env.client,
        taskQueue,
        { tailnet: 'corp', serviceName: 'svc:web' },
        consumer('web'),
      );
      await timersStarted(handle, 1, 'the settle timer');
      const delivered = await eventually('the report at the consumer', async () => {
        const signals = (await historyEvents(web)).filter(
          (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'vipStatus',
        );
        return signals.length ? signals : undefined;
      });
      const vipEvents = await historyEvents(handle);
      await handle.terminate('test done');
      await web.terminate('test done');
      return { vip: vipEvents, reports: delivered };
    });
    expect(reports.length).toBeGreaterThanOrEqual(1);
    const firstTimer = vip.findIndex((e) => e.timerStartedEventAttributes);
    const tasksBeforeTimer = vip
      .slice(0, firstTimer)
      .filter((e) => e.workflowTaskCompletedEventAttributes).length;
    expect(tasksBeforeTimer).toBe(1);
    expect(vip.some((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)).toBe(false);
  });
});
