import type { KubeConfig } from '@kubernetes/client-node';
import { listVipServices, type VipService } from '../../../activities/tailscale/vip-services';
import { readRegistry } from '../../../activities/vip/registry';
import type { TailscaleSimulator } from '../../../simulators/tailscale/server';
import { instanceLabels } from '../../support/operator';
import { createTestNamespace, testKubeConfig, uniqueName } from '../../support/stack';
import { startTestTailnet, type TestTailnet } from '../../support/tailscale';
import { Objects } from './kube';
import { startFaultOperator, type FaultOperator, type FaultOperatorOptions } from './operator';

export interface FaultWorld {
  kc: KubeConfig;
  namespace: string;
  instance: string;
  tailnet: TestTailnet;
  operator: FaultOperator;
  objects: Objects;
  /**
   * `<clusterID>/<operatorID>`: this operator's key in registries. Empty for an install with derived
   * ids (`release`): its tailnet's status.operator says it.
   */
  consumerKey: string;
  close(): Promise<void>;
}

export interface FaultWorldOptions {
  prefix: string;
  /** Share a simulator with another world (two operators on one tailnet). */
  sim?: TailscaleSimulator;
  clusterId?: string;
  operatorId?: string;
  /**
   * Run as the chart would with this release name: OPERATOR_NAMESPACE (the world's namespace) and
   * RELEASE_NAME set, and OPERATOR_ID/CLUSTER_ID only when given (otherwise derived, the default).
   */
  release?: string;
  env?: Record<string, string>;
  operator?: Partial<Omit<FaultOperatorOptions, 'instance' | 'watchNamespaces' | 'env'>>;
  /** Start the operator later (e.g. after arranging a proxy in front of the API server). */
  deferOperator?: boolean;
}

/**
 * One fault scenario's world: a namespace, a Tailscale simulator with a Ready-able TailscaleTailnet,
 * and the real operator processes scoped to them.
 */
export async function startFaultWorld(opts: FaultWorldOptions): Promise<FaultWorld> {
  const kc = testKubeConfig();
  const namespace = await createTestNamespace(kc, opts.prefix);
  const instance = uniqueName(opts.prefix);
  const clusterId = opts.clusterId ?? (opts.release ? undefined : 'east');
  const operatorId = opts.operatorId ?? (opts.release ? undefined : 'op-a');
  const tailnet = await startTestTailnet({
    kc,
    namespace,
    name: uniqueName(`${opts.prefix}-corp`),
    labels: instanceLabels(instance),
    sim: opts.sim,
    ...(opts.release ? { operatorNamespace: namespace } : {}),
  });
  const operator = startFaultOperator({
    instance,
    watchNamespaces: [namespace],
    env: {
      ...(operatorId ? { OPERATOR_ID: operatorId } : {}),
      ...(clusterId ? { CLUSTER_ID: clusterId } : {}),
      ...(opts.release ? { OPERATOR_NAMESPACE: namespace, RELEASE_NAME: opts.release } : {}),
      TAILSCALE_API_BASE_URL: tailnet.sim.url,
      ...opts.env,
    },
    ...opts.operator,
  });
  return {
    kc,
    namespace,
    instance,
    tailnet,
    operator,
    objects: new Objects(kc, namespace, opts.release ? namespace : undefined),
    consumerKey: clusterId && operatorId ? `${clusterId}/${operatorId}` : '',
    async close() {
      await operator.stop();
      await tailnet.close();
    },
  };
}

/** VIP services whose name starts with `prefix`. */
export async function vipServicesNamed(
  world: { tailnet: TestTailnet },
  prefix: string,
): Promise<VipService[]> {
  return (await listVipServices(world.tailnet.api)).filter((s) => s.name.startsWith(prefix));
}

/** consumer key → sorted routes, as the registry of `service` says. */
export function consumersOf(service: VipService | undefined): Record<string, string[]> {
  const registry = readRegistry(service?.annotations);
  return Object.fromEntries(
    Object.entries(registry?.consumers ?? {}).map(([key, c]) => [key, [...c.routes].sort()]),
  );
}

/** A deterministic PRNG (mulberry32): a failing run can be replayed from its seed. */
export function seededRng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  };
}
export type Rng = ReturnType<typeof seededRng>;
