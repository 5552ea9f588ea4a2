import { configSecretOf, handMadeConfigSecret, proxiesOf } from '../../support/proxies';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Condition, KubeObject } from '../../../api/common';
import { eventually } from '../../support/eventually';
import { tailscaledConfigKey } from '../../../activities/specs/tailscaled-config';
import { isConditionTrue } from '../../support/conditions';

export const group = 'gateway.tailscale.com';
export const version = 'v1alpha1';
export const configKey = tailscaledConfigKey;
export const finalizer = 'gateway.tailscale.com/finalizer';

export type Kind =
  | 'TailscaleServices'
  | 'TailscaleEndpoints'
  | 'TailscaleProxyGroup'
  | 'TailscaleTailnet'
  | 'TailscaleGateway'
  | 'TailscaleRoutePolicy';

const plurals: Record<Kind, string> = {
  TailscaleServices: 'tailscaleservices',
  TailscaleEndpoints: 'tailscaleendpoints',
  TailscaleProxyGroup: 'tailscaleproxygroups',
  TailscaleTailnet: 'tailscaletailnets',
  TailscaleGateway: 'tailscalegateways',
  TailscaleRoutePolicy: 'tailscaleroutepolicies',
};

export type AnyObject = KubeObject<
  Record<string, unknown>,
  { observedGeneration?: number; conditions?: Condition[]; [field: string]: unknown }
>;

export const isNotFound = (err: unknown) =>
  (err as { code?: number } | null)?.code === 404 || /HTTP-Code: 404/.test(String(err));

/** A wait's failure, with the object's generation and conditions as last seen. */
async function explained<T>(last: () => AnyObject | undefined, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    const obj = last();
    const conditions = obj?.status?.conditions?.map(({ type, status, reason, message }) => ({
      type,
      status,
      reason,
      message,
    }));
    const seen = obj
      ? `generation ${obj.metadata.generation}, observed ${obj.status?.observedGeneration}, conditions ${JSON.stringify(conditions)}`
      : 'object absent';
    throw new Error(`${(err as Error).message}; last seen: ${seen}`);
  }
}

/** Our custom objects in one namespace (or cluster-scoped for tailnets), as tests need them. */
export class Objects {
  readonly api: CustomObjectsApi;
  readonly core: CoreV1Api;

  constructor(
    readonly kc: KubeConfig,
    readonly namespace: string,
    /** Where this world's operator puts proxies (its OPERATOR_NAMESPACE); unset: the stack's. */
    readonly operatorNamespace?: string,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  private key(kind: Kind, name: string) {
    return { group, version, plural: plurals[kind], namespace: this.namespace, name };
  }

  async create(
    kind: Kind,
    name: string,
    spec: Record<string, unknown>,
    labels: Record<string, string> = {},
  ): Promise<AnyObject> {
    const body = {
      apiVersion: `${group}/${version}`,
      kind,
      metadata: { name, labels },
      spec,
    };
    if (kind === 'TailscaleTailnet')
      return (await this.api.createClusterCustomObject({
        group,
        version,
        plural: plurals[kind],
        body,
      })) as AnyObject;
    return (await this.api.createNamespacedCustomObject({
      group,
      version,
      plural: plurals[kind],
      namespace: this.namespace,
      body,
    })) as AnyObject;
  }

  async get(kind: Kind, name: string): Promise<AnyObject | undefined> {
    try {
      if (kind === 'TailscaleTailnet')
        return (await this.api.getClusterCustomObject({
          group,
          version,
          plural: plurals[kind],
          name,
        })) as AnyObject;
      return (await this.api.getNamespacedCustomObject(this.key(kind, name))) as AnyObject;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(kind: Kind): Promise<AnyObject[]> {
    const res = (await this.api.listNamespacedCustomObject({
      group,
      version,
      plural: plurals[kind],
      namespace: this.namespace,
    })) as { items: AnyObject[] };
    return res.items;
  }

  /** JSON patch (RFC 6902). */
  async patch(kind: Kind, name: string, ops: unknown[]): Promise<AnyObject> {
    if (kind === 'TailscaleTailnet')
      return (await this.api.patchClusterCustomObject({
        group,
        version,
        plural: plurals[kind],
        name,
        body: ops,
      })) as AnyObject;
    return (await this.api.patchNamespacedCustomObject({ ...this.key(kind, name), body: ops })) as AnyObject;
  }

  /** Deletes; a missing object counts as deleted. */
  async delete(kind: Kind, name: string): Promise<void> {
    try {
      if (kind === 'TailscaleTailnet')
        await this.api.deleteClusterCustomObject({ group, version, plural: plurals[kind], name });
      else await this.api.deleteNamespacedCustomObject(this.key(kind, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async condition(kind: Kind, name: string, type: string): Promise<Condition | undefined> {
    return (await this.get(kind, name))?.status?.conditions?.find((c) => c.type === type);
  }

  /** Ready=True with status observing the current generation. */
  async waitReady(kind: Kind, name: string, timeoutMs = 90_000): Promise<AnyObject> {
    let last: AnyObject | undefined;
    return explained(
      () => last,
      eventually(
        `${kind} ${name} Ready at its current generation`,
        async () => {
          const obj = (last = await this.get(kind, name));
          return obj && isConditionTrue(obj) && obj.status?.observedGeneration === obj.metadata.generation
            ? obj
            : undefined;
        },
        { timeoutMs, intervalMs: 250 },
      ),
    );
  }

  /** The condition `type` once `accept` holds for it at the object's current generation. */
  async waitCondition(
    kind: Kind,
    name: string,
    type: string,
    accept: (c: Condition) => boolean,
    timeoutMs = 90_000,
  ): Promise<Condition> {
    let last: AnyObject | undefined;
    return explained(
      () => last,
      eventually(
        `${kind} ${name} condition ${type}`,
        async () => {
          const obj = (last = await this.get(kind, name));
          const c = obj?.status?.conditions?.find((x) => x.type === type);
          return obj && c && obj.status?.observedGeneration === obj.metadata.generation && accept(c)
            ? c
            : undefined;
        },
        { timeoutMs, intervalMs: 250 },
      ),
    );
  }

  async waitGone(kind: Kind, name: string, timeoutMs = 90_000): Promise<void> {
    await eventually(
      `${kind} ${name} gone (finalizer removed)`,
      async () => ((await this.get(kind, name)) ? undefined : true),
      { timeoutMs, intervalMs: 250 },
    );
  }

  /**
   * TailscaleEndpoints as the endpoints workflow leaves them, without running proxies: the object
   * (not labelled for the operator, so only TailscaleServices act on it) plus one tailscaled config
   * Secret per replica, where TailscaleServices edit AdvertiseServices.
   */
  async createManualEndpoints(
    name: string,
    tailnet: string,
    labels: Record<string, string>,
    replicas = 1,
  ): Promise<void> {
    await this.create(
      'TailscaleEndpoints',
      name,
      { tailnet, tags: ['tag:k8s'], proxy: { replicas } },
      labels,
    );
    for (let i = 0; i < replicas; i++) {
      const body = handMadeConfigSecret(
        { namespace: this.namespace, name },
        i,
        { Version: 'alpha0', Hostname: `${name}-${i}`, AdvertiseServices: [] },
        this.operatorNamespace,
      );
      await this.core.createNamespacedSecret({ namespace: body.metadata!.namespace!, body });
    }
  }

  /** AdvertiseServices of one replica's tailscaled config Secret. */
  async advertised(endpoints: string, replica = 0): Promise<string[]> {
    const secret = await this.core.readNamespacedSecret(
      configSecretOf(
        proxiesOf(this.namespace, endpoints, 'TailscaleEndpoints', this.operatorNamespace),
        replica,
      ),
    );
    const raw = Buffer.from(secret.data?.[configKey] ?? '', 'base64').toString('utf8');
    return raw ? ((JSON.parse(raw) as { AdvertiseServices?: string[] }).AdvertiseServices ?? []) : [];
  }
}
