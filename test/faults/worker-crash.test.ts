/**
 * Case 1: the worker is SIGKILLed while a Tailscale write of a VIP service is in flight, during its
 * create, its update and its delete; a new worker takes over.
 *
 * Guards: durable workflows plus activities that are idempotent when a write landed but its activity
 * never completed (the retry reads first: attach finds its own registry entry instead of creating a
 * second service; detach treats an already deleted service as done), and a finalizer released only
 * after the Tailscale side is confirmed. Shown to fail (locally, once) with detach treating a missing
 * service as an error: the delete phase never releases the finalizer.
 *
 * Case 2: the worker dies while a regular activity (a proxy's auth key mint) is in flight. Temporal
 * retries it once its heartbeat lapses (workers/heartbeat.ts), not after its start-to-close timeout:
 * shown to fail without the heartbeat (the endpoints stay provisioning for the activity's 2 min).
 */
import { temporal } from '@temporalio/proto';
import { getVipService } from '../../activities/tailscale/vip-services';
import { startProxySimulator } from '../../simulators/proxy/simulator';
import { endpointsWorkflowId } from '../../workflows/ids';
import { eventually } from '../support/eventually';
import { temporalClient, uniqueName } from '../support/stack';
import { finalizer } from './support/kube';
import { injectFault } from './support/tailscale-faults';
import { waitParked } from './support/parked';
import { scanWorld } from './support/secrets-scan';
import { consumersOf, startFaultWorld, vipServicesNamed, type FaultWorld } from './support/world';

// An activity whose worker died is retried once its start-to-close timeout (45 s) expires.
const afterCrashMs = 150_000;
const holdMs = 3000;
const { TimeoutType } = temporal.api.enums.v1;

describe('worker killed mid-write: create, update and delete of a VIP service converge', () => {
  let w: FaultWorld;

  beforeAll(async () => {
    w = await startFaultWorld({ prefix: 'crash' });
  });
  afterAll(async () => {
    await w?.close();
  });

  /**
   * Holds the next matching write for `holdMs`, kills the worker while it is held, and restarts it once
   * the write has `landed` on the simulator (so its activity, whose worker is gone, never completes).
   */
  const crashDuring = async (
    method: 'PUT' | 'DELETE',
    serviceName: string,
    act: () => Promise<unknown>,
    landed: () => Promise<boolean>,
  ) => {
    const fault = await injectFault(w.tailnet.sim.admin, {
      kind: 'latency',
      latencyMs: holdMs,
      method,
      path: `**/vip-services/${serviceName}`,
      count: 1,
    });
    await act();
    await fault.waitFired(1, 90_000);
    await w.operator.killWorker();
    await eventually(
      `the held ${method} of ${serviceName} landed`,
      async () => ((await landed()) ? true : undefined),
      {
        timeoutMs: holdMs + 30_000,
      },
    );
    w.operator.startWorker();
  };

  it('kills the worker during each write and ends with one service, one registry entry, no orphan', async () => {
    const name = uniqueName('web');
    const serviceName = `svc:${name}`;
    const route = `services/${w.namespace}/${name}`;
    await w.objects.createManualEndpoints(`${name}-proxies`, w.tailnet.name, { app: name }, 2);

    // Create.
    await crashDuring(
      'PUT',
      serviceName,
      () =>
        w.objects.create(
          'TailscaleServices',
          name,
          {
            tailnet: w.tailnet.name,
            selector: { matchLabels: { app: name } },
            vipService: { ports: ['tcp:443'], tags: ['tag:web'] },
          },
          w.operator.labels,
        ),
      async () => (await getVipService(w.tailnet.api, serviceName)) !== null,
    );
    const landed = await getVipService(w.tailnet.api, serviceName);
    expect(landed).not.toBeNull();
    const created = await w.objects.waitReady('TailscaleServices', name, afterCrashMs);
    const afterCreate = await vipServicesNamed(w, 'svc:');
    expect(afterCreate.map((s) => s.name)).toEqual([serviceName]);
    expect(afterCreate[0]).toMatchObject({ ports: ['tcp:443'], tags: ['tag:web'], addrs: landed?.addrs });
    expect(consumersOf(afterCreate[0])).toEqual({ [w.consumerKey]: [route] });
    expect(created.metadata.finalizers).toEqual([finalizer]);
    expect(created.status?.vipService).toMatchObject({ name: serviceName, addresses: landed?.addrs });
    expect(await w.objects.advertised(`${name}-proxies`, 0)).toEqual([serviceName]);
    expect(await w.objects.advertised(`${name}-proxies`, 1)).toEqual([serviceName]);

    // Update.
    await crashDuring(
      'PUT',
      serviceName,
      () =>
        w.objects.patch('TailscaleServices', name, [
          { op: 'replace', path: '/spec/vipService/ports', value: ['tcp:443', 'tcp:8443'] },
        ]),
      async () => (await getVipService(w.tailnet.api, serviceName))?.ports?.includes('tcp:8443') === true,
    );
    const updated = await w.objects.waitReady('TailscaleServices', name, afterCrashMs);
    expect(updated.metadata.generation).toBe(2);
    const afterUpdate = await vipServicesNamed(w, 'svc:');
    expect(afterUpdate.map((s) => s.name)).toEqual([serviceName]);
    expect(afterUpdate[0]).toMatchObject({ ports: ['tcp:443', 'tcp:8443'], addrs: landed?.addrs });
    expect(consumersOf(afterUpdate[0])).toEqual({ [w.consumerKey]: [route] });

    // Delete.
    await crashDuring(
      'DELETE',
      serviceName,
      () => w.objects.delete('TailscaleServices', name),
      async () => (await getVipService(w.tailnet.api, serviceName)) === null,
    );
    expect(await getVipService(w.tailnet.api, serviceName)).toBeNull();
    // The finalizer is held until the VIP workflow has confirmed the service gone to its consumer.
    expect((await w.objects.get('TailscaleServices', name))?.metadata.finalizers).toEqual([finalizer]);
    await w.objects.waitGone('TailscaleServices', name, afterCrashMs);
    expect(await vipServicesNamed(w, 'svc:')).toEqual([]);
    expect(await w.objects.advertised(`${name}-proxies`, 0)).toEqual([]);
    expect(await w.objects.advertised(`${name}-proxies`, 1)).toEqual([]);
    // Nothing recreated it afterwards (a late retry of an old attach would): once every workflow is
    // parked with no activity pending or retrying, none is left to run.
    await waitParked(w.operator.taskQueue);
    expect(await vipServicesNamed(w, 'svc:')).toEqual([]);
  }, 600_000);

  it('retries an activity whose worker died once its heartbeat lapses, not after its start-to-close timeout', async () => {
    const name = uniqueName('hb');
    // The new replica's auth key is minted by ensureProxyConfigs (start-to-close 2 min): hold that
    // mint while the worker dies, so the activity's attempt is lost with it.
    const fault = await injectFault(w.tailnet.sim.admin, {
      kind: 'latency',
      latencyMs: holdMs,
      method: 'POST',
      path: '**/keys',
      count: 1,
    });
    const proxies = startProxySimulator({
      kc: w.kc,
      tailscale: w.tailnet.sim.admin,
      namespaces: [w.namespace],
    });
    try {
      await w.objects.create(
        'TailscaleEndpoints',
        name,
        { tailnet: w.tailnet.name, tags: ['tag:k8s'], proxy: { replicas: 1 } },
        w.operator.labels,
      );
      await fault.waitFired(1, 90_000);
      await w.operator.killWorker();
      w.operator.startWorker();
      // Well within the 2 min the lost attempt would otherwise hold the pass.
      await w.objects.waitReady('TailscaleEndpoints', name, 90_000);
    } finally {
      await proxies.stop();
    }
    expect(await retriedActivities(endpointsWorkflowId(w.namespace, name))).toEqual([
      { activity: 'ensureProxyConfigs', lastTimeout: TimeoutType.TIMEOUT_TYPE_HEARTBEAT },
    ]);
  }, 300_000);

  it('leaks no credential into its logs or workflow histories (case 8)', async () => {
    expect((await scanWorld(w)).leaks).toEqual([]);
  });
});

/** The activities of a workflow that needed a second attempt, and how their last attempt timed out. */
async function retriedActivities(workflowId: string) {
  const temporalApi = await temporalClient();
  try {
    const { events } = await temporalApi.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = new Map(
      (events ?? []).flatMap((e) => {
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
        return type ? [[Number(e.eventId), type] as const] : [];
      }),
    );
    return (events ?? []).flatMap((e) => {
      const started = e.activityTaskStartedEventAttributes;
      if (!started || (started.attempt ?? 1) < 2) return [];
      return [
        {
          activity: scheduled.get(Number(started.scheduledEventId)),
          lastTimeout: started.lastFailure?.timeoutFailureInfo?.timeoutType,
        },
      ];
    });
  } finally {
    await temporalApi.close();
  }
}
