/**
 * Ready means traffic can flow: a TailscaleServices is Ready only once Tailscale lists an advertising
 * host of its VIP service as approved (by hand or by the tailnet policy's autoApprovers.services), and
 * its status lists the hosts. Stand-in proxies (test/support/stand-in-hosts.ts) advertise what the
 * operator writes into their config.
 */
import { CoreV1Api, EventsV1Api } from '@kubernetes/client-node';
import type { Condition } from '../../../api/common';
import type { TailscaleServices } from '../../../api/v1alpha1';
import { setVipServiceHostApproval } from '../../../activities/tailscale/vip-services';
import { eventually } from '../../support/eventually';
import { handMadeConfigSecret, standInLabel } from '../../support/proxies';
import { createProxyEndpoints, createTailscaleServices } from '../../support/objects';
import { useStackOperator } from '../../support/stack-operator';
import { temporalClient, uniqueName } from '../../support/stack';
import { vipWorkflowId } from '../../../workflows/ids';
import { vipStateQuery } from '../../../workflows/messages';
import { testAutoApprovers } from '../../support/tailscale';
import { conditionOf } from '../../support/conditions';
import { reportingController } from '../../../activities/kubernetes/events';

describe('TailscaleServices: Ready only with an approved advertising host', () => {
  const stack = useStackOperator({ name: 'approval' });

  const get = async (name: string) =>
    (await stack.objects.getNamespacedCustomObject({
      group: 'gateway.tailscale.com',
      version: 'v1alpha1',
      namespace: stack.namespace,
      plural: 'tailscaleservices',
      name,
    })) as TailscaleServices;
  const readyWhere = (name: string, what: string, accept: (ready: Condition) => boolean) =>
    eventually(
      what,
      async () => {
        const svc = await get(name);
        const ready = conditionOf(svc, 'Ready');
        return ready && accept(ready) ? svc : undefined;
      },
      { timeoutMs: 90_000 },
    );
  /** Our HostApproved Events about one TailscaleServices. */
  const hostApprovedEvents = async (name: string) =>
    (
      await stack.kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: stack.namespace })
    ).items.filter(
      (e) =>
        e.reportingController === reportingController &&
        e.regarding?.kind === 'TailscaleServices' &&
        e.regarding.name === name &&
        e.reason === 'HostApproved',
    );
  const createServices = (name: string, tags: string[]) =>
    createTailscaleServices(stack.kc, {
      namespace: stack.namespace,
      name,
      labels: stack.operator.labels,
      spec: {
        tailnet: stack.tailnet.name,
        selector: { matchLabels: { app: name } },
        vipService: { ports: ['tcp:443'], tags },
      },
    });

  it('is HostNotApproved, saying how to approve, until the host is approved; then Ready with the host approved', async () => {
    const name = uniqueName('manual');
    const serviceName = `svc:${name}`;
    // tag:manual is in no autoApprovers entry of the test tailnet's policy.
    expect(testAutoApprovers['tag:manual']).toBeUndefined();
    await createProxyEndpoints(stack.kc, {
      namespace: stack.namespace,
      name: `${name}-proxies`,
      labels: { app: name },
      tailnet: stack.tailnet.name,
    });
    await createServices(name, ['tag:manual']);

    const waiting = await readyWhere(name, 'HostNotApproved', (c) => c.reason === 'HostNotApproved');
    const ready = conditionOf(waiting, 'Ready');
    expect(ready?.status).toBe('False');
    expect(ready?.message).toContain(`${name}-proxies-0: not-approved`);
    expect(ready?.message).toContain('approve them in the Tailscale admin console');
    expect(ready?.message).toContain(`/services/${serviceName}/device/<nodeId>/approved`);
    expect(ready?.message).toContain(`"autoApprovers": {"services": {"${serviceName}": ["tag:k8s"]}}`);
    expect(conditionOf(waiting, 'HostsApproved')).toMatchObject({
      status: 'False',
      reason: 'HostNotApproved',
    });
    expect(waiting.status?.hosts).toEqual([
      {
        name: `${name}-proxies-0`,
        nodeId: expect.any(String) as string,
        advertising: true,
        approved: false,
        approvalLevel: 'not-approved',
      },
    ]);

    expect(await hostApprovedEvents(name)).toEqual([]);

    // Once the VIP workflow is done with its own writes (its settle check read the service back), no
    // event will reach it: only its polling can see the approval.
    const temporal = await temporalClient();
    try {
      const vip = temporal.client.workflow.getHandle(vipWorkflowId(stack.tailnet.name, serviceName));
      await eventually('the VIP workflow idle after its settle check', async () => {
        const last = (await vip.query(vipStateQuery)).last;
        return (last?.outcome === 'UpToDate' && last.hosts?.length === 1) || undefined;
      });
    } finally {
      await temporal.close();
    }

    // The admin approves the host through the API: the VIP workflow's next look finds it.
    const nodeId = waiting.status?.hosts?.[0]?.nodeId ?? '';
    await setVipServiceHostApproval(stack.tailnet.api, serviceName, nodeId, true);
    const approved = await readyWhere(name, 'Ready once approved', (c) => c.status === 'True');
    expect(conditionOf(approved, 'HostsApproved')).toMatchObject({ status: 'True', reason: 'HostsApproved' });
    expect(approved.status?.hosts).toEqual([
      {
        name: `${name}-proxies-0`,
        nodeId,
        advertising: true,
        approved: true,
        approvalLevel: 'approved:manual',
      },
    ]);
    // A Normal Event names the host, recorded once: the activity that published the approval saw it
    // was new; later passes publishing the same hosts add nothing (nor would a replay).
    const [event, ...more] = await eventually('a HostApproved Event', async () => {
      const found = await hostApprovedEvents(name);
      return found.length ? found : undefined;
    });
    expect(more).toEqual([]);
    expect(event?.type).toBe('Normal');
    expect(event?.note).toBe(
      `Tailscale approved host ${name}-proxies-0 (node ${nodeId}) for VIP service ${serviceName} (approved:manual): it now carries traffic for the service`,
    );
    expect(event?.series).toBeUndefined();
  });

  it('is Ready directly when the tailnet policy auto-approves the proxies for the service', async () => {
    const name = uniqueName('auto');
    expect(testAutoApprovers['tag:web']).toEqual(['tag:k8s']);
    await createProxyEndpoints(stack.kc, {
      namespace: stack.namespace,
      name: `${name}-proxies`,
      labels: { app: name },
      tailnet: stack.tailnet.name,
    });
    await createServices(name, ['tag:web']);
    const ready = await readyWhere(name, 'Ready', (c) => c.status === 'True');
    expect(ready.status?.hosts).toEqual([
      {
        name: `${name}-proxies-0`,
        nodeId: expect.any(String) as string,
        advertising: true,
        approved: true,
        approvalLevel: 'approved:auto',
      },
    ]);
  });

  it('is NoHosts while its proxies have not connected', async () => {
    const name = uniqueName('silent');
    await createProxyEndpoints(stack.kc, {
      namespace: stack.namespace,
      name: `${name}-proxies`,
      labels: { app: name },
      tailnet: stack.tailnet.name,
      replicas: 0,
    });
    // A replica config no proxy ever plays (not even the stand-in hosts): nothing advertises.
    const silentSecret = handMadeConfigSecret({ namespace: stack.namespace, name: `${name}-proxies` }, 0, {
      Version: 'alpha0',
      AdvertiseServices: [],
    });
    delete silentSecret.metadata!.labels![standInLabel];
    await stack.kc
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({ namespace: silentSecret.metadata!.namespace!, body: silentSecret });
    await createServices(name, ['tag:web']);
    const silent = await readyWhere(name, 'NoHosts', (c) => c.reason === 'NoHosts');
    expect(conditionOf(silent, 'Ready')?.status).toBe('False');
    expect(conditionOf(silent, 'Ready')?.message).toContain(`no device advertises svc:${name} yet`);
    expect(silent.status?.hosts).toEqual([]);
  });
});
