import { proxyGroupWorkflowId, endpointsWorkflowId } from '../../../workflows/ids';
import { eventually } from '../../support/eventually';
import { recordHistory } from '../../support/record-history';
import { uniqueName } from '../../support/stack';
import {
  configOf,
  devicesNamed,
  proxyParents,
  startProxyHarness,
  type ProxyHarness,
} from './tailscale-endpoints-harness';

describe('TailscaleProxyGroup: a shared pool on the same proxy machinery, and endpoints that use it', () => {
  let h: ProxyHarness;
  let groups: ReturnType<typeof proxyParents>;
  let endpoints: ReturnType<typeof proxyParents>;

  beforeAll(async () => {
    h = await startProxyHarness('proxygroup');
    groups = proxyParents(h, 'TailscaleProxyGroup');
    endpoints = proxyParents(h, 'TailscaleEndpoints');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('provisions the pool, lends its devices to endpoints that name it, and deletes its devices with it', async () => {
    const pool = uniqueName('pool');
    await groups.create(pool, { type: 'ingress', proxy: { replicas: 2, hostnamePrefix: `${pool}-edge` } });
    const pg = await groups.waitReady(pool);
    const devices = await devicesNamed(h, `${pool}-edge`);
    expect(devices.map((d) => d.hostname).sort()).toEqual([`${pool}-edge-0`, `${pool}-edge-1`]);
    expect(pg.status?.devices?.map((d) => d.nodeID).sort()).toEqual(devices.map((d) => d.nodeId).sort());
    expect(pg.status?.devices?.map((d) => d.hostname).sort()).toEqual([`${pool}-edge-0`, `${pool}-edge-1`]);
    const sts = await h.apps.readNamespacedStatefulSet({ namespace: h.namespace, name: pool });
    expect(sts.metadata?.labels?.['gateway.tailscale.com/parent-kind']).toBe('proxygroup');
    expect(sts.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'TailscaleProxyGroup', name: pool });
    expect((await configOf(h, `${pool}-0-config`)).Hostname).toBe(`${pool}-edge-0`);

    // Endpoints using the pool have no StatefulSet of their own and report the pool's devices.
    const user = uniqueName('user');
    await endpoints.create(user, { proxyGroup: pool, connectionType: 'ingress' });
    const ep = await eventually('endpoints Ready through the pool', async () => {
      const obj = await endpoints.get(user);
      return obj.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? obj : undefined;
    });
    expect(ep.status?.devices).toEqual((await groups.get(pool)).status?.devices);
    expect(ep.metadata.finalizers ?? []).not.toContain('gateway.tailscale.com/finalizer');
    await expect(h.apps.readNamespacedStatefulSet({ namespace: h.namespace, name: user })).rejects.toThrow();

    // A direction the pool does not serve is reported on the field to fix.
    const egress = uniqueName('egress');
    await endpoints.create(egress, { proxyGroup: pool, connectionType: 'egress' });
    expect((await endpoints.waitReason(egress, 'InvalidSpec')).message).toContain('spec.connectionType');
    const missing = uniqueName('missing');
    await endpoints.create(missing, { proxyGroup: 'no-such-pool', connectionType: 'ingress' });
    expect((await endpoints.waitReason(missing, 'ProxyGroupNotFound')).message).toContain('spec.proxyGroup');

    await recordHistory(
      'tailscale-proxy-group',
      'ready',
      h.temporal.workflow.getHandle(proxyGroupWorkflowId(h.namespace, pool)),
    );
    await recordHistory(
      'tailscale-endpoints',
      'via-proxy-group',
      h.temporal.workflow.getHandle(endpointsWorkflowId(h.namespace, user)),
    );

    await groups.delete(pool);
    const handle = h.temporal.workflow.getHandle(proxyGroupWorkflowId(h.namespace, pool));
    await eventually('proxy group workflow completed', async () =>
      (await handle.describe()).status.name === 'COMPLETED' ? true : undefined,
    );
    expect(await devicesNamed(h, `${pool}-edge`)).toEqual([]);
    const secrets = await h.core.listNamespacedSecret({
      namespace: h.namespace,
      labelSelector: `gateway.tailscale.com/parent-name=${pool}`,
    });
    expect(secrets.items).toEqual([]);
    await eventually(
      'endpoints report the pool gone',
      async () => ((await endpoints.ready(user))?.reason === 'ProxyGroupNotFound' ? true : undefined),
      { timeoutMs: 90_000 },
    );
    await recordHistory('tailscale-proxy-group', 'deleted', handle);
  }, 180_000);
});
