import { servicesWorkflowId } from '../../workflows/ids';
import { objectChangedSignal, vipStatusSignal } from '../../workflows/messages';
import { readyOf, timersFired, webPassActivities, webReport, webServices } from './services-fixtures';
import { recordHistory } from '../support/record-history';
import { useWorkflowTier } from '../support/workflow-env';

const tier = useWorkflowTier();

describe('TailscaleServices workflow, VIP workflow slower than the reply wait', () => {
  test('a reply that comes after the pass stopped waiting gets a pass at once, not at the 6 h recheck', async () => {
    const workflowId = servicesWorkflowId('default', 'web');
    const readiness: (string | undefined)[] = [];
    let firstRequestId: number | undefined;
    let publishedPending!: () => void;
    const pending = new Promise<void>((resolve) => (publishedPending = resolve));
    let becameReady!: () => void;
    const ready = new Promise<void>((resolve) => (becameReady = resolve));
    const activities = {
      ...webPassActivities,
      // The VIP workflow's first task waits in a long task queue: its reply to the first join comes
      // after the pass gave up waiting. Later joins are answered at once.
      signalVipService(input: { requestId: number; unlessRunning?: boolean }) {
        if (input.unlessRunning) return Promise.resolve({ signalled: false });
        if (firstRequestId === undefined) {
          firstRequestId = input.requestId;
          return Promise.resolve({ signalled: true });
        }
        setImmediate(() => {
          void tier.env.client.workflow
            .getHandle(workflowId)
            .signal(vipStatusSignal, webReport(input.requestId, true));
        });
        return Promise.resolve({ signalled: true });
      },
      patchStatus(input: { conditions: { type: string; status: string; reason?: string }[] }) {
        const condition = readyOf(input.conditions);
        readiness.push(condition?.reason);
        if (condition?.reason === 'Pending') publishedPending();
        if (condition?.status === 'True') becameReady();
        return Promise.resolve({});
      },
    };
    const fired = await tier.run(activities, async (taskQueue) => {
      const handle = await tier.env.client.workflow.signalWithStart('tailscaleServicesWorkflow', {
        workflowId,
        taskQueue,
        args: [{ kind: 'TailscaleServices', namespace: 'default', name: 'web' }],
        signal: objectChangedSignal,
        signalArgs: [webServices],
      });
      await pending;
      await handle.signal(vipStatusSignal, webReport(firstRequestId!, true));
      await ready;
      const timers = await timersFired(handle);
      await handle.terminate('test done');
      await recordHistory('tailscale-services', 'late-reply', handle);
      return timers;
    });
    expect(readiness[0]).toBe('Pending');
    expect(readiness.at(-1)).toBe('Ready');
    // Only the first pass's reply wait fired: the second pass came from the late reply, not the recheck.
    expect(fired).toBe(1);
  });
});
