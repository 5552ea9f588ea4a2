import { ApplicationFailure } from '@temporalio/common';
import { findCondition, isReady } from '../api/conditions';
import { resourceOf } from '../api/crd';
import {
  proxyDeploymentOf,
  type DeviceStatus,
  type ProxyDeployment,
  type StatefulSetStatus,
} from '../api/v1alpha1/proxy';
import { tailscaleEndpointsCrd, type TailscaleEndpoints } from '../api/v1alpha1/tailscale-endpoints';
import { tailscaleProxyGroupCrd, type TailscaleProxyGroup } from '../api/v1alpha1/tailscale-proxy-group';
import { consumerKeyOf, type ActivityContext } from './context';
import { KubeObjects } from './kubernetes/apply';
import type { EventNotice } from './kubernetes/events';
import { isNotFound } from './kubernetes/errors';
import { setFinalizer, type FinalizerTarget } from './kubernetes/finalizers';
import { deleteProxy, removeLegacyProxy, removeProxyReplicas } from './proxies/cleanup';
import { ensureProxyConfigs, type EnsureProxyConfigsInput } from './proxies/configs';
import { deleteProxyDevices, observeProxyDevices, type ObserveProxyDevicesInput } from './proxies/devices';
import { classified } from './proxies/failures';
import { applyProxyObjects } from './proxies/objects';
import { applyEgressConfig, egressFieldManager, type EgressOutcome } from './proxies/egress';
import { egressConfigKey, egressNeedsDnsSuffix } from './specs/egress-config';
import { discoverTailnetDnsSuffix } from './tailscale/dns-suffix';
import { resolveProxyClass } from './proxies/proxy-class';
import { appliedNotices, mintedNotices, removedReplicasNotice } from './proxies/proxy-events';
import { finalizerName } from '../api/common';
import { proxyFieldManager, proxyPlacement } from './specs/proxy-group';

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
  const egressObjects = new KubeObjects(ctx.kube, egressFieldManager);
  // The tailnet's check publishes the suffix on its own schedule; until it has, ask the devices API.
  const dnsSuffixOf = async (tailnet: string) => {
    const { tailnet: object, client } = await ctx.tailnets.client(tailnet);
    return object.status?.dnsSuffix ?? (await discoverTailnetDnsSuffix(client)) ?? '';
  };
  const logger = ctx.logger.child({ component: 'proxies' });
  // Credentials are resolved on first use inside the activity and never leave it.
  const tailscaleFor = (tailnet: string) => () => ctx.tailnets.apiClient(tailnet);
  const classDeps = { objects: ctx.objects, kube: ctx.kube, allowedTags: ctx.allowedTags };
  const recordAll = async (notices: EventNotice[]) => {
    for (const notice of notices) await ctx.events.record(notice);
  };

  const egressUsersOf = async (pool: ProxyDeployment): Promise<ReadonlySet<string>> => {
    const all = await ctx.objects.list<TailscaleEndpoints>(resourceOf(tailscaleEndpointsCrd), {
      namespace: pool.namespace,
    });
    return new Set(
      all
        .filter((e) => e.spec.proxyGroup === pool.name && e.spec.egress && !e.metadata.deletionTimestamp)
        .map((e) => egressConfigKey(e.metadata.namespace ?? pool.namespace, e.metadata.name)),
    );
  };
  // Resolved here, not in the workflows: their histories keep carrying the parent's namespace and name.
  const placementOf = (d: ProxyDeployment) => proxyPlacement(d, ctx.operatorNamespace);
  const legacyCleanupForbidden = new Set<string>();

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
      const applied = await classified(`applying the objects of ${describe(deployment)}`, async () => {
        const pod = await resolveProxyClass(classDeps, deployment);
        const result = await applyProxyObjects(objects, deployment, placementOf(deployment), pod, {
          objects: egressObjects,
          dnsSuffix: egressNeedsDnsSuffix(deployment.egress) ? await dnsSuffixOf(deployment.tailnet) : '',
          ...(deployment.kind === 'TailscaleProxyGroup' ? { users: () => egressUsersOf(deployment) } : {}),
        });
        const legacy = await removeLegacyProxy(
          { objects, tailscale: tailscaleFor(deployment.tailnet), logger },
          deployment,
        );
        if (legacy.forbidden && !legacyCleanupForbidden.has(deployment.namespace)) {
          legacyCleanupForbidden.add(deployment.namespace);
          // The chart's default: only an upgrade from that placement turns the cleanup on.
          logger.info(
            'may not look for proxies of the placement before the operator namespace (worker.removeLegacyProxies is off)',
            { namespace: deployment.namespace },
          );
        }
        return result;
      });
      await recordAll(appliedNotices(deployment, applied));
      return applied;
    },

    async ensureProxyConfigs(input: EnsureProxyConfigsInput) {
      const outcome = await classified(
        `writing the config Secrets of ${describe(input.deployment)}`,
        async () => {
          // Checked again right before keys are minted: the class may have changed since the objects were applied.
          await resolveProxyClass(classDeps, input.deployment);
          return ensureProxyConfigs(
            {
              objects,
              placement: placementOf(input.deployment),
              tailscale: tailscaleFor(input.deployment.tailnet),
              operator: consumerKeyOf(ctx.identity),
              logger,
            },
            input,
          );
        },
      );
      await recordAll(mintedNotices(input.deployment, outcome));
      return outcome;
    },

    async removeProxyReplicas(input: {
      deployment: ProxyDeployment;
      ordinals: number[];
      knownDevices: Record<string, string>;
    }) {
      const removed = await classified(
        `removing replicas ${input.ordinals.join(', ')} of ${describe(input.deployment)}`,
        () =>
          removeProxyReplicas(
            {
              objects,
              placement: placementOf(input.deployment),
              tailscale: tailscaleFor(input.deployment.tailnet),
              logger,
            },
            input,
          ),
      );
      await recordAll(removedReplicasNotice(input.deployment, input.ordinals));
      return removed;
    },

    /** Devices a replica left behind when it registered again (its state was lost). */
    async deleteStaleProxyDevices(input: { tailnet: string; nodeIds: string[] }) {
      return classified(`deleting stale devices`, async () =>
        deleteProxyDevices(await tailscaleFor(input.tailnet)(), input.nodeIds),
      );
    },

    async observeProxyDevices(input: ObserveProxyDevicesInput) {
      return classified(`reading the devices of ${describe(input.deployment)}`, () =>
        observeProxyDevices(
          {
            objects,
            placement: placementOf(input.deployment),
            tailscale: tailscaleFor(input.deployment.tailnet),
          },
          input,
        ),
      );
    },

    async deleteProxy(input: { deployment: ProxyDeployment; knownDevices: Record<string, string> }) {
      return classified(`deleting ${describe(input.deployment)}`, async () => {
        const deps = { objects, tailscale: tailscaleFor(input.deployment.tailnet), logger };
        // Deleted before its proxies moved to the operator namespace: the old ones go too.
        await removeLegacyProxy(deps, input.deployment);
        return deleteProxy({ ...deps, placement: placementOf(input.deployment) }, input);
      });
    },

    /**
     * A TailscaleEndpoints that uses a shared pool writes its egress entry into the pool's proxies
     * ConfigMap (or removes it: `endpoints.egress` unset). A pool that is gone carries nothing.
     */
    async applyProxyGroupEgress(input: {
      endpoints: ProxyDeployment;
      proxyGroup: string;
    }): Promise<EgressOutcome> {
      const e = input.endpoints;
      return classified(
        `writing the egress config of ${describe(e)} into TailscaleProxyGroup ${input.proxyGroup}`,
        async () => {
          let pool: TailscaleProxyGroup;
          try {
            pool = await ctx.objects.get<TailscaleProxyGroup>(resourceOf(tailscaleProxyGroupCrd), {
              namespace: e.namespace,
              name: input.proxyGroup,
            });
          } catch (err) {
            if (isNotFound(err)) return { matchPorts: [] };
            throw err;
          }
          const set = proxyDeploymentOf('TailscaleProxyGroup', pool.metadata, pool.spec);
          const dnsSuffix = egressNeedsDnsSuffix(e.egress) ? await dnsSuffixOf(e.tailnet) : '';
          return applyEgressConfig(egressObjects, {
            set,
            placement: placementOf(set),
            endpoints: e,
            dnsSuffix,
          });
        },
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
