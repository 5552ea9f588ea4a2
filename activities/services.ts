import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { LabelSelector } from '../api/common';
import { isReady } from '../api/conditions';
import { resourceOf } from '../api/crd';
import { tailscaleEndpointsCrd, type TailscaleEndpoints } from '../api/v1alpha1/tailscale-endpoints';
import {
  provisionedEndpointsName,
  tailscaleServicesCrd,
  type ServiceBackend,
  type TailscaleServices,
} from '../api/v1alpha1/tailscale-services';
import type { TailscaleTailnet } from '../api/v1alpha1/tailscale-tailnet';
import type { ActivityContext } from './context';
import { isConflict, isNotFound, toKubeActivityFailure } from './kubernetes/errors';
import { createVipHosting, type ProxyParent } from './proxies/vip-hosting';
import { serviceServeConfig, type ServiceConfig } from './specs/serve-config';
import { selectorIsEmpty, selectorMatches, selectorToQuery } from '../api/label-selector';
import { tailnetResource } from './tailnets';
import { ServicesReason, TailnetReason } from '../api/reasons';

export const endpointsResource = resourceOf(tailscaleEndpointsCrd);
export const servicesResource = resourceOf(tailscaleServicesCrd);
export const autoProvisionedAnnotation = 'tailscale-gateway.com/auto-provisioned';

export interface TailnetStatusView {
  exists: boolean;
  ready: boolean;
  reason: string;
  message: string;
  dnsSuffix?: string;
}

export interface EndpointsTemplateInput {
  nameSuffix?: string;
  tags?: string[];
  connectionType?: 'ingress' | 'egress' | 'bidirectional';
  replicas?: number;
  ports?: { name?: string; port: number; protocol?: 'TCP' | 'UDP' }[];
  labels?: Record<string, string>;
}

export interface SelectEndpointsInput {
  namespace: string;
  /** The TailscaleServices doing the selecting (owner of anything auto-provisioned). */
  owner: { name: string; uid?: string };
  tailnet: string;
  selector: LabelSelector;
  template?: EndpointsTemplateInput;
  /** Tags for auto-provisioned endpoints when the template names none. */
  defaultTags: string[];
}

export interface SelectedEndpoints {
  name: string;
  autoProvisioned: boolean;
  ready: boolean;
  devices: string[];
  nodeIds: string[];
  onlineDevices: number;
}

export interface Selection {
  selected: SelectedEndpoints[];
  /** Matching endpoints on another tailnet: not used, reported. */
  wrongTailnet: string[];
  provisioned?: string;
  /** Why the template's endpoints could not be provisioned (the name is taken): for the status. */
  provisionBlocked?: string;
}

export interface AdvertiseInput {
  namespace: string;
  serviceName: string;
  advertiseOn: string[];
  withdrawFrom: string[];
  /**
   * The service's serve config entry on the proxy sets it is advertised on, written before the name is
   * advertised; null: none (an entry left from an earlier backend is removed). Unset (histories from
   * before serve configs): the proxies' serve config is not touched where the service is advertised.
   * Where it is withdrawn, the entry is always removed, after the name.
   */
  serve?: ServiceConfig | null;
}

export interface ResolveBackendInput {
  namespace: string;
  /** `svc:<label>`. */
  serviceName: string;
  /** The tailnet's MagicDNS suffix: HTTP(S) handlers are keyed by the service's name under it. */
  dnsSuffix?: string;
  vipPorts: string[];
  backend: ServiceBackend;
}

/** The serve config entry of a TailscaleServices' backend, or the condition saying what to fix. */
export type BackendResolution =
  | { ok: true; config: ServiceConfig }
  | {
      ok: false;
      reason: 'BackendNotFound' | 'BackendPortNotFound' | 'InvalidBackend' | 'TailnetNotReady';
      message: string;
    };

/** Auto-provisioned for the TailscaleServices with this uid. */
function provisionedFor(e: TailscaleEndpoints, ownerUid: string | undefined): boolean {
  return (
    Boolean(ownerUid) &&
    e.metadata.annotations?.[autoProvisionedAnnotation] === 'true' &&
    (e.metadata.ownerReferences ?? []).some((r) => r.uid === ownerUid)
  );
}

/**
 * Unselected, but its owner is live, still names it by its template and selects nothing else: the
 * owner's next pass relabels it for the owner's new selector, so it is not deleted meanwhile.
 */
function awaitsRelabel(
  e: TailscaleEndpoints,
  live: TailscaleServices[],
  endpoints: TailscaleEndpoints[],
): boolean {
  return live.some(
    (s) =>
      s.spec.endpointTemplate !== undefined &&
      provisionedFor(e, s.metadata.uid) &&
      provisionedEndpointsName(s.metadata.name, s.spec.endpointTemplate) === e.metadata.name &&
      !endpoints.some((o) => selectorMatches(s.spec.selector, o.metadata.labels)),
  );
}

export function createServicesActivities(ctx: ActivityContext) {
  const core = ctx.kube.makeApiClient(CoreV1Api);

  async function listSelected(input: SelectEndpointsInput): Promise<TailscaleEndpoints[]> {
    if (selectorIsEmpty(input.selector)) return [];
    try {
      return await ctx.objects.list<TailscaleEndpoints>(endpointsResource, {
        namespace: input.namespace,
        labelSelector: selectorToQuery(input.selector),
      });
    } catch (err) {
      throw toKubeActivityFailure(err, `listing TailscaleEndpoints in ${input.namespace}`);
    }
  }

  /** Creates the template's endpoints; `blocked` says why it can not when another object has the name. */
  async function provision(input: SelectEndpointsInput): Promise<{ name: string; blocked?: string }> {
    const template = input.template ?? {};
    const name = provisionedEndpointsName(input.owner.name, template);
    const labels = { ...template.labels, ...input.selector.matchLabels };
    const endpoints: TailscaleEndpoints = {
      apiVersion: 'gateway.tailscale.com/v1alpha1',
      kind: 'TailscaleEndpoints',
      metadata: {
        name,
        namespace: input.namespace,
        labels,
        annotations: { [autoProvisionedAnnotation]: 'true' },
        ownerReferences: input.owner.uid
          ? [
              {
                apiVersion: 'gateway.tailscale.com/v1alpha1',
                kind: 'TailscaleServices',
                name: input.owner.name,
                uid: input.owner.uid,
              },
            ]
          : undefined,
      },
      spec: {
        tailnet: input.tailnet,
        tags: template.tags ?? input.defaultTags,
        connectionType: template.connectionType,
        proxy: template.replicas === undefined ? undefined : { replicas: template.replicas },
        ports: template.ports,
      },
    };
    try {
      await ctx.objects.create(endpointsResource, endpoints);
      ctx.logger.info('auto-provisioned TailscaleEndpoints', {
        namespace: input.namespace,
        name,
        for: input.owner.name,
      });
      return { name };
    } catch (err) {
      if (!isConflict(err)) throw toKubeActivityFailure(err, `auto-provisioning TailscaleEndpoints ${name}`);
    }
    return { name, blocked: await relabelProvisioned(input, name, labels) };
  }

  /**
   * The name is taken. Ours, provisioned for an earlier selector of the same object: it gets the current
   * selector's labels, so the selector picks it again with its proxies as they are (once unselected,
   * nothing would have woken this object after the cleanup deleted it). Anything else: why not.
   */
  async function relabelProvisioned(
    input: SelectEndpointsInput,
    name: string,
    labels: Record<string, string>,
  ): Promise<string | undefined> {
    const key = { namespace: input.namespace, name };
    let existing: TailscaleEndpoints;
    try {
      existing = await ctx.objects.get<TailscaleEndpoints>(endpointsResource, key);
    } catch (err) {
      if (!isNotFound(err)) throw toKubeActivityFailure(err, `reading TailscaleEndpoints ${name}`);
      // Deleted since the conflict: the activity's retry creates it.
      throw ApplicationFailure.retryable(`TailscaleEndpoints ${name} went away after a name conflict`);
    }
    const taken = `spec.endpointTemplate: TailscaleEndpoints ${name} already exists`;
    if (!provisionedFor(existing, input.owner.uid)) {
      return `${taken} and was not provisioned for this object: delete or rename it, or set spec.endpointTemplate.nameSuffix`;
    }
    if (existing.metadata.deletionTimestamp) {
      return `${taken} and is being deleted: it is provisioned again once it is gone`;
    }
    try {
      // One operation per label: a label someone else writes meanwhile is kept.
      await ctx.objects.jsonPatch(endpointsResource, key, [
        { op: 'test', path: '/metadata/uid', value: existing.metadata.uid },
        ...(existing.metadata.labels
          ? Object.entries(labels).map(([k, v]) => ({
              op: 'add',
              path: `/metadata/labels/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`,
              value: v,
            }))
          : [{ op: 'add', path: '/metadata/labels', value: labels }]),
      ]);
    } catch (err) {
      throw toKubeActivityFailure(err, `relabelling TailscaleEndpoints ${name} for the new selector`);
    }
    ctx.logger.info('relabelled auto-provisioned TailscaleEndpoints for a new selector', {
      namespace: input.namespace,
      name,
      for: input.owner.name,
    });
    return undefined;
  }

  /**
   * Whose proxies serve a TailscaleEndpoints: its own, or with spec.proxyGroup the pool's. Undefined when
   * the endpoints are gone (their own proxies went with them).
   */
  async function proxiesOf(namespace: string, endpoints: string): Promise<ProxyParent | undefined> {
    try {
      const e = await ctx.objects.get<TailscaleEndpoints>(endpointsResource, { namespace, name: endpoints });
      return e.spec.proxyGroup
        ? { kind: 'TailscaleProxyGroup', namespace, name: e.spec.proxyGroup }
        : { kind: 'TailscaleEndpoints', namespace, name: endpoints };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toKubeActivityFailure(err, `reading TailscaleEndpoints ${namespace}/${endpoints}`);
    }
  }

  const hosting = createVipHosting(ctx);

  return {
    async getTailnetStatus(input: { name: string }): Promise<TailnetStatusView> {
      try {
        const tailnet = await ctx.objects.get<TailscaleTailnet>(tailnetResource, { name: input.name });
        const ready = tailnet.status?.conditions?.find((c) => c.type === 'Ready');
        return {
          exists: true,
          ready: isReady(tailnet.status?.conditions),
          reason: ready?.reason ?? 'Pending',
          message: ready?.message ?? 'not reconciled yet',
          dnsSuffix: tailnet.status?.dnsSuffix,
        };
      } catch (err) {
        if (isNotFound(err))
          return {
            exists: false,
            ready: false,
            reason: TailnetReason.TailnetNotFound,
            message: `TailscaleTailnet ${input.name} does not exist`,
          };
        throw toKubeActivityFailure(err, `reading TailscaleTailnet ${input.name}`);
      }
    },

    /** The endpoints a selector picks (auto-provisioning one from the template when none match). */
    async selectEndpoints(input: SelectEndpointsInput): Promise<Selection> {
      let matched = await listSelected(input);
      let provisioned: { name: string; blocked?: string } | undefined;
      if (!matched.length && input.template) {
        provisioned = await provision(input);
        matched = await listSelected(input);
      }
      const onTailnet = matched.filter((e) => e.spec.tailnet === input.tailnet);
      return {
        provisioned: provisioned?.name,
        ...(provisioned?.blocked && !matched.length ? { provisionBlocked: provisioned.blocked } : {}),
        wrongTailnet: matched.filter((e) => e.spec.tailnet !== input.tailnet).map((e) => e.metadata.name),
        selected: onTailnet
          .map((e) => {
            const devices = e.status?.devices ?? [];
            return {
              name: e.metadata.name,
              autoProvisioned: e.metadata.annotations?.[autoProvisionedAnnotation] === 'true',
              ready: isReady(e.status?.conditions),
              devices: devices.map((d) => d.hostname),
              nodeIds: devices.flatMap((d) => (d.nodeID ? [d.nodeID] : [])),
              onlineDevices: devices.filter((d) => d.online ?? d.connected).length,
            };
          })
          .sort((a, b) => a.name.localeCompare(b.name)),
      };
    },

    /** Puts the service into (or takes it out of) AdvertiseServices of each replica's tailscaled config. */
    async setAdvertisedServices(
      input: AdvertiseInput,
    ): Promise<{ configured: number; replicas: number; writes: number }> {
      const work = [
        ...input.advertiseOn.map((name) => [name, true] as const),
        ...input.withdrawFrom
          .filter((n) => !input.advertiseOn.includes(n))
          .map((name) => [name, false] as const),
      ];
      // Endpoints over one TailscaleProxyGroup share its proxies: the pool keeps the service while any
      // of them is advertised on.
      const parents = new Map<string, { parent: ProxyParent; advertise: boolean }>();
      for (const [endpoints, advertise] of work) {
        const parent = await proxiesOf(input.namespace, endpoints);
        if (!parent) continue;
        const key = `${parent.kind}/${parent.name}`;
        parents.set(key, { parent, advertise: advertise || (parents.get(key)?.advertise ?? false) });
      }
      return hosting.apply(parents.values(), input.serviceName, input.serve);
    },

    /** Reads the backend Service and builds the service's serve config entry from it. */
    async resolveServiceBackend(input: ResolveBackendInput): Promise<BackendResolution> {
      const { backend } = input;
      let service: V1Service;
      try {
        service = await core.readNamespacedService({ namespace: input.namespace, name: backend.serviceName });
      } catch (err) {
        if (!isNotFound(err))
          throw toKubeActivityFailure(err, `reading Service ${input.namespace}/${backend.serviceName}`);
        return {
          ok: false,
          reason: 'BackendNotFound',
          message: `spec.backend.serviceName: Service ${input.namespace}/${backend.serviceName} does not exist: create it or name another Service`,
        };
      }
      const result = serviceServeConfig({
        vipService: input.serviceName,
        dnsSuffix: input.dnsSuffix ?? '',
        vipPorts: input.vipPorts,
        backend,
        service: {
          clusterIP: service.spec?.clusterIP,
          ports: (service.spec?.ports ?? []).map((p) => ({ name: p.name, port: p.port })),
        },
      });
      if (!result.ok) return { ok: false, reason: result.reason, message: `spec.backend: ${result.problem}` };
      if (result.config.Web && !input.dnsSuffix) {
        // Tailscale looks HTTP handlers up by <label>.<suffix>:<port>; without the suffix none would match.
        // The tailnet's status change re-runs this object (watchers/tailscale-services.ts).
        return {
          ok: false,
          reason: ServicesReason.TailnetNotReady,
          message:
            'spec.backend: http and https ports need the tailnet MagicDNS suffix, not known yet (TailscaleTailnet status.dnsSuffix)',
        };
      }
      return { ok: true, config: result.config };
    },

    /** Deletes auto-provisioned endpoints that no TailscaleServices in the namespace selects any more. */
    async cleanupAutoProvisionedEndpoints(input: { namespace: string }): Promise<{ deleted: string[] }> {
      const endpoints = await ctx.objects.list<TailscaleEndpoints>(endpointsResource, {
        namespace: input.namespace,
      });
      // Every pass of every TailscaleServices runs this: without auto-provisioned endpoints, the list of
      // every TailscaleServices in the namespace (O(services) per pass, O(services²) at creation) is skipped.
      if (!endpoints.some((e) => e.metadata.annotations?.[autoProvisionedAnnotation] === 'true')) {
        return { deleted: [] };
      }
      const services = await ctx.objects.list<TailscaleServices>(servicesResource, {
        namespace: input.namespace,
      });
      const live = services.filter((s) => !s.metadata.deletionTimestamp);
      const deleted: string[] = [];
      for (const e of endpoints) {
        if (e.metadata.annotations?.[autoProvisionedAnnotation] !== 'true') continue;
        const selected = live.some(
          (s) => !selectorIsEmpty(s.spec.selector) && selectorMatches(s.spec.selector, e.metadata.labels),
        );
        if (selected || awaitsRelabel(e, live, endpoints)) continue;
        try {
          await ctx.objects.delete(endpointsResource, {
            namespace: input.namespace,
            name: e.metadata.name,
            uid: e.metadata.uid,
          });
          deleted.push(e.metadata.name);
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err))
            throw toKubeActivityFailure(err, `deleting ${e.metadata.name}`);
        }
      }
      return { deleted };
    },
  };
}
