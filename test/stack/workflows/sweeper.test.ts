import { temporal } from '@temporalio/proto';
import type { TailscaleServices } from '../../../api/v1alpha1';
import { getVipService, putVipService } from '../../../activities/tailscale/vip-services';
import { attachConsumer, readRegistry, writeRegistry } from '../../../activities/vip/registry';
import { replayHistory } from '../../../tools/replay';
import { sweeperWorkflowId } from '../../../workflows/ids';
import { stopSweeperSignal } from '../../../workflows/messages';
import { eventually } from '../../support/eventually';
import { createServicesWithProxies } from '../../support/objects';
import { recordHistory } from '../../support/record-history';
import { useStackOperator } from '../../support/stack-operator';
import { uniqueName } from '../../support/stack';
import type { TestTailnet } from '../../support/tailscale';
import { isConditionTrue } from '../../support/conditions';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

describe('the per-tailnet sweeper (a durable timer in the running operator)', () => {
  const stack = useStackOperator({ name: 'sweeper', env: { SWEEP_INTERVAL_SECONDS: '1' } });

  /** A TailscaleServices object (with endpoints to select) once it is Ready: its VIP service exists. */
  const createReadyServices = async (name: string) => {
    await createServicesWithProxies(stack.kc, {
      namespace: stack.namespace,
      name,
      operatorLabels: stack.operator.labels,
      tailnet: stack.tailnet.name,
      vipService: { ports: ['tcp:443'], tags: ['tag:web'] },
    });
    await eventually(
      'Ready',
      async () => {
        const svc = (await stack.objects.getNamespacedCustomObject({
          group,
          version,
          namespace: stack.namespace,
          plural: 'tailscaleservices',
          name,
        })) as TailscaleServices;
        return isConditionTrue(svc) ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  };

  type RequestCounts = Awaited<ReturnType<TestTailnet['sim']['admin']['requestCounts']>>;
  /** Lists of VIP services the simulator has answered: the sweeper makes one per pass. */
  const servicesLists = (counts: RequestCounts) =>
    Object.entries(counts.routes)
      .filter(([route]) => /^GET .*\/vip-services$/.test(route))
      .reduce((n, [, c]) => n + c, 0);
  /** The request counts once two more sweep passes than `lists` have run (a pass is one second). */
  const sweptTwiceSince = (lists: number) =>
    eventually(
      'two more sweep passes',
      async () => {
        const counts = await stack.tailnet.sim.admin.requestCounts();
        return servicesLists(counts) >= lists + 2 ? counts : undefined;
      },
      { timeoutMs: 15_000 },
    );

  it('removes a consumer unseen for over 30 minutes, then makes no Tailscale write while idle', async () => {
    const name = uniqueName('swept');
    const serviceName = `svc:${name}`;
    await createReadyServices(name);

    // Another cluster's operator that died two hours ago, leaving its entry behind.
    const current = await getVipService(stack.tailnet.api, serviceName);
    const registry = readRegistry(current?.annotations);
    if (!current || !registry) throw new Error('no registry on the created service');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000).toISOString();
    const withGhost = attachConsumer(registry, 'gone/op-x', { routes: ['services/x/web'] }, twoHoursAgo);
    await putVipService(stack.tailnet.api, {
      ...current,
      annotations: writeRegistry(current.annotations, withGhost),
    });

    await eventually(
      'stale consumer swept',
      async () => {
        const consumers =
          readRegistry((await getVipService(stack.tailnet.api, serviceName))?.annotations)?.consumers ?? {};
        return consumers['gone/op-x'] ? undefined : Object.keys(consumers);
      },
      { timeoutMs: 30_000 },
    ).then((consumers) => expect(consumers).toEqual(['east/op-a']));

    await stack.tailnet.sim.admin.resetRequestCounts();
    // The quiet point: two sweep passes (one list of services each) have run since the reset.
    const counts = await sweptTwiceSince(0);
    expect(counts.writes).toBe(0);
  });

  it("refreshes this operator's own lastSeen once it is older than the refresh threshold, with one write", async () => {
    const name = uniqueName('refreshed');
    const serviceName = `svc:${name}`;
    await createReadyServices(name);
    const current = await getVipService(stack.tailnet.api, serviceName);
    const registry = readRegistry(current?.annotations);
    const ours = registry?.consumers['east/op-a'];
    if (!current || !registry || !ours) throw new Error('no entry of ours on the created service');
    // No device of ours is listed (the endpoints report none), so nothing else vouches for us.
    expect(ours.devices).toBeUndefined();

    // Our entry as it would be 20 minutes after our last write: past the refresh threshold (half the
    // 30-minute staleness), still short of what peers would sweep.
    const before = await stack.tailnet.sim.admin.requestCounts();
    const twentyMinutesAgo = new Date(Date.now() - 20 * 60_000).toISOString();
    await putVipService(stack.tailnet.api, {
      ...current,
      annotations: writeRegistry(
        current.annotations,
        attachConsumer(registry, 'east/op-a', ours, twentyMinutesAgo),
      ),
    });
    const refreshed = await eventually(
      'own lastSeen refreshed',
      async () => {
        const entry = readRegistry((await getVipService(stack.tailnet.api, serviceName))?.annotations)
          ?.consumers['east/op-a'];
        return entry && entry.lastSeen !== twentyMinutesAgo ? entry : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(Date.now() - Date.parse(refreshed.lastSeen)).toBeLessThan(60_000);
    expect(refreshed.routes).toEqual(ours.routes);
    // By the sweeper (its memo names the service), not by a re-attach. The PUT is visible before the
    // activity completes and the workflow task that upserts the memo runs, so the memo may lag a little.
    const sweeper = stack.temporal.workflow.getHandle(sweeperWorkflowId(stack.tailnet.name));
    const lastRefreshed = async () =>
      ((await sweeper.describe()).memo as { lastSweep?: { refreshed?: string[] } } | undefined)?.lastSweep
        ?.refreshed;
    const refreshedBySweeper = await eventually(
      'sweeper memo names the refreshed service',
      async () => {
        const names = await lastRefreshed();
        return names?.includes(serviceName) ? names : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(refreshedBySweeper).toEqual([serviceName]);

    // Fresh again, later passes (one a second) leave it alone: one write in all besides ours.
    const after = await sweptTwiceSince(servicesLists(await stack.tailnet.sim.admin.requestCounts()));
    const put = 'PUT /api/v2/tailnet/-/vip-services/{name}';
    expect(after.writes - before.writes).toBe(2);
    expect((after.routes[put] ?? 0) - (before.routes[put] ?? 0)).toBe(2);
    expect(
      readRegistry((await getVipService(stack.tailnet.api, serviceName))?.annotations)?.consumers['east/op-a']
        ?.lastSeen,
    ).toBe(refreshed.lastSeen);
  });

  it('stops on its signal, and its history replays deterministically under the current code', async () => {
    const handle = stack.temporal.workflow.getHandle(sweeperWorkflowId(stack.tailnet.name));
    const passesOf = (history: Awaited<ReturnType<typeof handle.fetchHistory>>) =>
      (history.events ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sweepVipServices',
      ).length;
    await eventually('two sweep passes', async () =>
      passesOf(await handle.fetchHistory()) >= 2 ? true : undefined,
    );
    await handle.signal(stopSweeperSignal);
    await eventually('sweeper completed', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    const history = await handle.fetchHistory();
    const { EventType } = temporal.api.enums.v1;
    expect(history.events?.at(-1)?.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    const outcome = await replayHistory(history, sweeperWorkflowId(stack.tailnet.name));
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(true);
    await recordHistory('sweeper', 'sweep-refresh-stop', handle);
  });
});
