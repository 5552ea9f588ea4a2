/**
 * The Temporal UI tells the story: each workflow's current details (the UI's User Metadata, read here
 * as the UI reads it, through the `__temporal_workflow_metadata` query) say what the workflow holds,
 * and each activity's schedule event carries a one-line summary, so the Timeline reads as the lifecycle.
 */
import type { temporal } from '@temporalio/proto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Condition } from '../../../api/common';
import type { TailscaleServices } from '../../../api/v1alpha1';
import { eventually } from '../../support/eventually';
import { conditionOf } from '../../support/conditions';
import { createProxyEndpoints, createTailscaleServices } from '../../support/objects';
import { useStackOperator } from '../../support/stack-operator';
import { uniqueName } from '../../support/stack';
import { servicesWorkflowId, tailnetWorkflowId, vipWorkflowId } from '../../../workflows/ids';

const metadataQuery = '__temporal_workflow_metadata';

const decode = (payload: temporal.api.common.v1.IPayload | null | undefined): unknown =>
  payload ? defaultPayloadConverter.fromPayload(payload) : undefined;

describe('the Temporal UI: current details and activity summaries', () => {
  const stack = useStackOperator({ name: 'uisummary' });

  const currentDetails = async (workflowId: string) => {
    const metadata = await stack.temporal.workflow
      .getHandle(workflowId)
      .query<temporal.api.sdk.v1.IWorkflowMetadata>(metadataQuery);
    return metadata.currentDetails ?? '';
  };

  it('shows the VIP service, its hosts and their approval, the last error and the next check', async () => {
    const name = uniqueName('web');
    const serviceName = `svc:${name}`;
    await createProxyEndpoints(stack.kc, {
      namespace: stack.namespace,
      name: `${name}-proxies`,
      labels: { app: name },
      tailnet: stack.tailnet.name,
    });
    // tag:web is auto-approved by the test tailnet's policy: the host is approved at once.
    await createTailscaleServices(stack.kc, {
      namespace: stack.namespace,
      name,
      labels: stack.operator.labels,
      spec: {
        tailnet: stack.tailnet.name,
        selector: { matchLabels: { app: name } },
        vipService: { ports: ['tcp:443'], tags: ['tag:web'] },
      },
    });

    await eventually(
      'Ready',
      async () => {
        const svc = (await stack.objects.getNamespacedCustomObject({
          group: 'gateway.tailscale.com',
          version: 'v1alpha1',
          namespace: stack.namespace,
          plural: 'tailscaleservices',
          name,
        })) as TailscaleServices;
        const ready: Condition | undefined = conditionOf(svc, 'Ready');
        return ready?.status === 'True' || undefined;
      },
      { timeoutMs: 90_000 },
    );
    const host = `${name}-proxies-0 approved (approved:auto)`;

    const services = await eventually('the services workflow details with the approved host', async () => {
      const details = await currentDetails(servicesWorkflowId(stack.namespace, name));
      return details.includes(host) ? details : undefined;
    });
    expect(services).toMatch(
      new RegExp(`^\\*\\*TailscaleServices ${stack.namespace}/${name}\\*\\*: Waiting, \\d+ pass\\(es\\)`),
    );
    expect(services).toMatch(
      new RegExp(`- VIP service: ${serviceName} \\(100\\.[0-9.]+, fd7a:[^)]*\\), \\w+\\n`),
    );
    expect(services).toContain(`- Hosts: ${host}\n`);
    expect(services).toContain('- Last error: none\n');
    expect(services).toMatch(/- Next check: re-check at \d{4}-\d\d-\d\dT[0-9:.]+Z$/);

    const vip = await eventually('the VIP workflow details with the approved host', async () => {
      const details = await currentDetails(vipWorkflowId(stack.tailnet.name, serviceName));
      return details.includes(host) && details.includes('re-check') ? details : undefined;
    });
    expect(vip).toMatch(
      new RegExp(`^\\*\\*${serviceName}\\*\\* on tailnet ${stack.tailnet.name}: \\w+ \\(100\\.`),
    );
    expect(vip).toContain(`- Consumers here: services/${stack.namespace}/${name}; installs attached: 1\n`);
    expect(vip).toContain(`- Hosts: ${host}\n`);
    expect(vip).toContain('- Last error: none\n');
    expect(vip).toMatch(/- Next check: re-check at \d{4}-\d\d-\d\dT[0-9:.]+Z$/);

    // The Timeline: each activity's scheduling carries its summary, local activities' markers too.
    const summaries = async (workflowId: string) => {
      const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
      return (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes)
        .map((e) => decode(e.userMetadata?.summary));
    };
    expect(await summaries(tailnetWorkflowId(stack.tailnet.name))).toContain(
      `check tailnet credentials ${stack.tailnet.name}`,
    );
    // attachVipService runs as a local activity: its summary is on its marker.
    const attach = `attach ${serviceName} on tailnet ${stack.tailnet.name} for services/${stack.namespace}/${name} (`;
    expect(await summaries(vipWorkflowId(stack.tailnet.name, serviceName))).toContainEqual(
      expect.stringMatching(new RegExp(`^${attach.replace(/[.()/]/g, '\\$&')}\\d+ device\\(s\\)\\)$`)),
    );
  });
});
