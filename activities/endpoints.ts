import { ApplicationFailure } from '@temporalio/common';
import { findCondition, isReady } from '../api/conditions';
import { resourceOf } from '../api/crd';
import type { DeviceStatus, ProxyDeployment, StatefulSetStatus } from '../api/v1alpha1/proxy';
import { tailscaleProxyGroupCrd, type TailscaleProxyGroup } from '../api/v1alpha1/tailscale-proxy-group';
import { consumerKeyOf, type ActivityContext } from './context';
import { KubeObjects } from './kubernetes/apply';
import { isNotFound } from './kubernetes/errors';
import { setFinalizer, type FinalizerTarget } from './kubernetes/finalizers';
import { deleteProxy, removeProxyReplicas } from './proxies/cleanup';
import { ensureProxyConfigs, type EnsureProxyConfigsInput } from './proxies/configs';
import { deleteProxyDevices, observeProxyDevices, type ObserveProxyDevicesInput } from './proxies/devices';
import { classified } from './proxies/failures';
import { applyProxyObjects } from './proxies/objects';
import { resolveProxyClass } from './proxies/proxy-class';
import { finalizerName } from '../api/common';
import { proxyFieldManager } from './specs/proxy-group';

const describe = (d: ProxyDeployment) => `${d.kind} ${d.namespace}/${d.name}`;

export interface ProxyGroupView {
  found: boolean;
  tailnet?: string;
  type?: 'ingress' | 'egress';
  ready: boolean;
  devices: DeviceStatus[];
  statefulSets: StatefulSetStatus[];
}

/** Activities of the TailscaleEndpoints / TailscaleProxyGroup workflows (proxy StatefulSets, auth keys, devices). */
export function createEndpointsActivities(ctx: ActivityContext) {
  const objects = new KubeObjects(ctx.kube, proxyFieldManager);
  const logger = ctx.logger.child({ component: 'proxies' });
  // Credentials are resolved on first use inside the activity and never leave it.
  const tailscaleFor = (tailnet: string) => async () => (await ctx.tailnets.client(tailnet)).client;
  const classDeps = { objects: ctx.objects, kube: ctx.kube };

  return {
    async addProxyFinalizer(target: FinalizerTarget) {
      return setFinalizer(ctx.kube, target, finalizerName, true);
    },

    async removeProxyFinalizer(target: FinalizerTarget) {
      return setFinalizer(ctx.kube, target, finalizerName, false);
    },

    /**
     * Fails with TailnetNotFound or InvalidSecret when the tailnet cannot be used, and with
     * TailnetNotReady when its own check found a problem (a tailnet not checked yet is not blocking).
     */
    async checkProxyTailnet(name: string): Promise<void> {
      await classified(`reading TailscaleTailnet ${name}`, async () => {
        const { tailnet } = await ctx.tailnets.client(name);
        const ready = findCondition(tailnet.status?.conditions, 'Ready');
        if (ready?.status !== 'False') return;
        throw ApplicationFailure.create({
          type: 'TailnetNotReady',
          nonRetryable: true,
          message: `spec.tailnet: TailscaleTailnet ${name} is not Ready (${ready.reason}: ${ready.message})`,
        });
      });
    },

    async applyProxyObjects(deployment: ProxyDeployment) {
      return classified(`applying the objects of ${describe(deployment)}`, async () =>
        applyProxyObjects(objects, deployment, await resolveProxyClass(classDeps, deployment)),
      );
    },

    async ensureProxyConfigs(input: EnsureProxyConfigsInput) {
      return classified(`writing the config Secrets of ${describe(input.deployment)}`, async () => {
        // Checked again right before keys are minted: the class may have changed since the objects were applied.
        await resolveProxyClass(classDeps, input.deployment);
        return ensureProxyConfigs(
          {
            objects,
            tailscale: tailscaleFor(input.deployment.tailnet),
            operator: consumerKeyOf(ctx.identity),
            logger,
          },
          input,
        );
      });
    },

    async removeProxyReplicas(input: {
      deployment: ProxyDeployment;
      ordinals: number[];
      knownDevices: Record<string, string>;
    }) {
      return classified(
        `removing replicas ${input.ordinals.join(', ')} of ${describe(input.deployment)}`,
        () =>
          removeProxyReplicas({ objects, tailscale: tailscaleFor(input.deployment.tailnet), logger }, input),
      );
    },

    /** Devices a replica left behind when it registered again (its state was lost). */
    async deleteStaleProxyDevices(input: { tailnet: string; nodeIds: string[] }) {
      return classified(`deleting stale devices`, async () =>
        deleteProxyDevices(await tailscaleFor(input.tailnet)(), input.nodeIds),
      );
    },

    async observeProxyDevices(input: ObserveProxyDevicesInput) {
      return classified(`reading the devices of ${describe(input.deployment)}`, () =>
        observeProxyDevices({ objects, tailscale: tailscaleFor(input.deployment.tailnet) }, input),
      );
    },

    async deleteProxy(input: { deployment: ProxyDeployment; knownDevices: Record<string, string> }) {
      return classified(`deleting ${describe(input.deployment)}`, () =>
        deleteProxy({ objects, tailscale: tailscaleFor(input.deployment.tailnet), logger }, input),
      );
    },

    /** A TailscaleEndpoints that uses a shared pool publishes the pool's devices as its own. */
    async readProxyGroupStatus(key: { namespace: string; name: string }): Promise<ProxyGroupView> {
      return classified(`reading TailscaleProxyGroup ${key.namespace}/${key.name}`, async () => {
        try {
          const pg = await ctx.objects.get<TailscaleProxyGroup>(resourceOf(tailscaleProxyGroupCrd), key);
          return {
            found: true,
            tailnet: pg.spec.tailnet,
            type: pg.spec.type,
            ready: isReady(pg.status?.conditions),
            devices: pg.status?.devices ?? [],
            statefulSets: pg.status?.statefulSets ?? [],
          };
        } catch (err) {
          if (isNotFound(err)) return { found: false, ready: false, devices: [], statefulSets: [] };
          throw err;
        }
      });
    },
  };
}
