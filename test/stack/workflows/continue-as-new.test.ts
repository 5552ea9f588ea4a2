import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import type { TailscaleServices } from '../../../api/v1alpha1';
import { getVipService } from '../../../activities/tailscale/vip-services';
import { startTemporalServer, type TemporalServer } from '../../../tools/stack/temporal-server';
import { servicesWorkflowId, vipWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { waitUntilGone, createServicesWithProxies } from '../../support/objects';
import { instanceLabels, startOperator, type TestOperator } from '../../support/operator';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';
import { conditionOf, isConditionTrue } from '../../support/conditions';

const group = 'gateway.tailscale.com';
const version = 'v1alpha1';

/**
 * A Temporal server that suggests continue-as-new after 40 events, so long-lived workflows roll over
 * many times in one test: their pending work and state must survive every hand-over.
 */
describe('continue-as-new carries resource and VIP workflow state across runs', () => {
  let kc: KubeConfig;
  let objects: CustomObjectsApi;
  let temporal: TemporalServer;
  let connection: Connection;
  let client: Client;
  let tailnet: TestTailnet;
  let operator: TestOperator;
  let namespace: string;

  beforeAll(async () => {
    kc = testKubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    temporal = await startTemporalServer({
      dir: mkdtempSync(join(tmpdir(), 'tsgw-can-')),
      ui: false,
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 },
    });
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });
    namespace = await createTestNamespace(kc, 'can');
    const instance = uniqueName('can');
    tailnet = await startTestTailnet({
      kc,
      namespace,
      name: uniqueName('corp'),
      labels: instanceLabels(instance),
    });
    operator = startOperator({
      instance,
      watchNamespaces: [namespace],
      env: {
        TEMPORAL_ADDRESS: temporal.address,
        TAILSCALE_API_BASE_URL: tailnet.sim.url,
        OPERATOR_ID: 'op',
        CLUSTER_ID: 'c',
      },
    });
  });

  afterAll(async () => {
    await operator?.stop();
    await connection?.close();
    await temporal?.stop();
    await tailnet?.close();
  });

  const runsOf = async (workflowId: string) => {
    const statuses: string[] = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      statuses.push(execution.status.name);
    }
    return statuses;
  };

  it('keeps following changes through many continue-as-new rollovers, then cleans up', async () => {
    const name = uniqueName('roll');
    const serviceName = `svc:${name}`;
    await createServicesWithProxies(kc, {
      namespace,
      name,
      operatorLabels: operator.labels,
      tailnet: tailnet.name,
      vipService: { ports: ['tcp:443'], tags: ['tag:web'], comment: 'change 0' },
    });
    const readyAt = async (generation: number) => {
      const svc = (await objects.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'tailscaleservices',
        name,
      })) as TailscaleServices;
      const ready = conditionOf(svc);
      return svc.status?.observedGeneration === generation && ready?.status === 'True' ? svc : undefined;
    };
    // Ready needs an approved host, and the VIP workflow looks for hosts 5 s after its write, then at a
    // doubling interval (5, 10, 20, 40 s): on a loaded machine the proxies can come up just after a look.
    await eventually('Ready', () => readyAt(1), { timeoutMs: 120_000 });

    const changes = 8;
    for (let i = 1; i <= changes; i++) {
      await objects.patchNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'tailscaleservices',
        name,
        body: [{ op: 'replace', path: '/spec/vipService/comment', value: `change ${i}` }],
      });
      await eventually(`Ready at generation ${i + 1}`, () => readyAt(i + 1), { timeoutMs: 60_000 });
    }
    expect((await getVipService(tailnet.api, serviceName))?.comment).toBe(`change ${changes}`);

    const servicesRuns = await runsOf(servicesWorkflowId(namespace, name));
    const vipRuns = await runsOf(vipWorkflowId(tailnet.name, serviceName));
    expect(servicesRuns.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(2);
    expect(vipRuns.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(1);

    // Deletion needs what the runs carried forward: where it advertised, which VIP it joined.
    await objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      name,
    });
    await eventually(
      'VIP service deleted',
      async () => ((await getVipService(tailnet.api, serviceName)) ? undefined : true),
      {
        timeoutMs: 60_000,
      },
    );
    await waitUntilGone('object', () =>
      objects.getNamespacedCustomObject({ group, version, namespace, plural: 'tailscaleservices', name }),
    );
  }, 300_000);
  it('bounds the history of a deletion blocked by a Tailscale outage: its retry loop continues as new', async () => {
    const name = uniqueName('outage');
    const serviceName = `svc:${name}`;
    await createServicesWithProxies(kc, {
      namespace,
      name,
      operatorLabels: operator.labels,
      tailnet: tailnet.name,
      vipService: { ports: ['tcp:443'], tags: ['tag:web'] },
    });
    const getServices = () =>
      objects.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'tailscaleservices',
        name,
      }) as Promise<TailscaleServices>;
    await eventually('Ready', async () => {
      const svc = await getServices();
      return isConditionTrue(svc) || undefined;
    });

    // Every VIP service call refused (403 is not retried by the activity): each leave fails at once.
    await tailnet.sim.admin.addFault({ kind: 'error', status: 403, path: '**/vip-services/**' });
    await objects.deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'tailscaleservices',
      name,
    });
    await eventually('DeletionBlocked', async () => {
      const svc = await getServices();
      return svc.status?.conditions?.some((c) => c.reason === 'DeletionBlocked') || undefined;
    });
    const workflowId = servicesWorkflowId(namespace, name);
    const blockedRun = (await client.workflow.getHandle(workflowId).describe()).runId;
    // The retry loop rolls over to a new run while the deletion is still blocked.
    await eventually(
      'a new run while the deletion is blocked',
      async () =>
        (await client.workflow.getHandle(workflowId).describe()).runId !== blockedRun ? true : undefined,
      { timeoutMs: 200_000, intervalMs: 1000 },
    );
    await getServices();
    // No run's history grows much past the point where the server suggests continuing as new.
    for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      const events = (await client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events ?? [];
      expect(events.length).toBeLessThan(80);
    }

    // The outage ends: the carried state (which VIP service, where advertised) finishes the deletion.
    await tailnet.sim.admin.clearFaults();
    // The next leave comes when the backoff reached by then (up to 5 min) has passed.
    await waitUntilGone('object', getServices, 330_000);
    expect(await getVipService(tailnet.api, serviceName)).toBeNull();
  }, 720_000);
});
