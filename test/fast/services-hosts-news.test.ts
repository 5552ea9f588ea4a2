import { vipStatusSignal, type VipServiceReport } from '../../workflows/messages';
import { recordHistory } from '../support/record-history';
import { useWorkflowTier } from '../support/workflow-env';
import {
  answeringVipWorkflow,
  readinessRecorder,
  startWebServices,
  webPassActivities,
  webReport,
} from './services-fixtures';

const tier = useWorkflowTier();

/**
 * The VIP workflow answers the join (attached, its one host advertising and not approved yet), then
 * reports `news(requestId)` on its own; waits for status with Ready reason `until`. Returns the Ready
 * reasons published and the passes that selected endpoints (every whole pass does).
 */
async function afterNews(
  news: (requestId: number) => VipServiceReport,
  opts: { until?: string; recordAs?: string } = {},
) {
  const status = readinessRecorder();
  const notApproved = status.published('HostNotApproved');
  const after = status.published(opts.until ?? 'Ready');
  let selections = 0;
  const vip = answeringVipWorkflow(tier.env.client, false);
  const activities = {
    ...webPassActivities,
    selectEndpoints: () => {
      selections++;
      return webPassActivities.selectEndpoints();
    },
    signalVipService: vip.signalVipService,
    patchStatus: status.patchStatus,
  };
  await tier.run(activities, async (taskQueue) => {
    const handle = await startWebServices(tier.env.client, taskQueue);
    await notApproved;
    await handle.signal(vipStatusSignal, news(vip.joins.at(-1)!));
    await after;
    await handle.terminate('test done');
    if (opts.recordAs) await recordHistory('tailscale-services', opts.recordAs, handle);
  });
  return { reasons: status.reasons, selections };
}

describe('TailscaleServices workflow, news of its hosts', () => {
  test('news of the hosts alone publishes Ready without running the whole pass again', async () => {
    // Its host look finds the host approved: only the hosts differ from the report shown.
    const { reasons, selections } = await afterNews((id) => webReport(id, true), {
      recordAs: 'hosts-news-status-only',
    });
    expect(reasons).toEqual(['HostNotApproved', 'Ready']);
    expect(selections).toBe(1);
  });

  test('a report that changes more than the hosts still runs the whole pass', async () => {
    // Another consumer joined meanwhile: the consumer count is in the status too.
    const { reasons, selections } = await afterNews((id) => ({ ...webReport(id, true), consumers: 2 }));
    expect(reasons.at(-1)).toBe('Ready');
    expect(selections).toBe(2);
  });

  test('a host that stopped advertising takes the whole pass, whose advertising write may repair it', async () => {
    const silent = (id: number) => {
      const report = webReport(id, false);
      return { ...report, hosts: report.hosts!.map((h) => ({ ...h, advertising: false })) };
    };
    const { reasons, selections } = await afterNews(silent, { until: 'NoHosts' });
    expect(reasons).toEqual(['HostNotApproved', 'NoHosts']);
    expect(selections).toBe(2);
  });
});
