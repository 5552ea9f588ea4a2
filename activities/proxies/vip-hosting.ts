/**
 * Makes proxy sets host a VIP service: its serve config entry in the set's `<statefulset>-proxies`
 * ConfigMap, its name in AdvertiseServices of each replica's config Secret. Both live in the operator
 * namespace; nothing in a tenant's namespace is edited. Used by TailscaleServices (through their
 * endpoints) and by TailscaleGateway publications hosted on a TailscaleProxyGroup.
 */
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import type { ProxyParentKind } from '../../api/v1alpha1/proxy';
import type { ActivityContext } from '../context';
import { AdvertisedServicesEditor } from '../kubernetes/advertised-services';
import { ServeConfigEditor } from '../kubernetes/serve-config-entries';
import { parentKindLabel, proxyLabelKeys, proxyNames, proxyPlacement } from '../specs/proxy-group';
import type { ServiceConfig } from '../specs/serve-config';
import { tailscaledConfigKey } from '../specs/tailscaled-config';

export interface ProxyParent {
  kind: ProxyParentKind;
  namespace: string;
  name: string;
}

export interface HostingChange {
  parent: ProxyParent;
  advertise: boolean;
}

export interface HostingResult {
  configured: number;
  replicas: number;
  writes: number;
}

export function createVipHosting(ctx: ActivityContext) {
  const core = ctx.kube.makeApiClient(CoreV1Api);
  const advertised = new AdvertisedServicesEditor(core, tailscaledConfigKey);
  const serveEntries = new ServeConfigEditor(core);

  /** The replica config Secrets of a proxy parent, by the labels and names the proxy workflow gives them. */
  async function configSecrets(parent: ProxyParent): Promise<V1Secret[]> {
    const placement = proxyPlacement(parent, ctx.operatorNamespace);
    const prefix = proxyNames.statefulSet(placement);
    const pattern = new RegExp(`^${prefix}-\\d+-config$`);
    const labelled = await core.listNamespacedSecret({
      namespace: placement.namespace,
      labelSelector: [
        `${proxyLabelKeys.parentKind}=${parentKindLabel(parent.kind)}`,
        `${proxyLabelKeys.parentNamespace}=${parent.namespace}`,
        `${proxyLabelKeys.parentName}=${parent.name}`,
        `${proxyLabelKeys.secretType}=config`,
      ].join(','),
    });
    return labelled.items.filter((s) => pattern.test(s.metadata?.name ?? ''));
  }

  /** The ConfigMap shared by a parent's replicas, labelled as their Secrets (without the Secret-only labels). */
  function proxiesConfigMapOf(parent: ProxyParent, secrets: V1Secret[]) {
    const placement = proxyPlacement(parent, ctx.operatorNamespace);
    const {
      [proxyLabelKeys.secretType]: _type,
      [proxyLabelKeys.replica]: _replica,
      ...labels
    } = secrets[0]?.metadata?.labels ?? {};
    return { namespace: placement.namespace, name: proxyNames.proxiesConfigMap(placement), labels };
  }

  return {
    /**
     * Advertises the service on (or withdraws it from) each parent. `serve`: the entry written before the
     * name is advertised; null: none (an old entry is removed); undefined: the serve config is left alone
     * where it is advertised. Where it is withdrawn, the entry is removed after the name.
     */
    async apply(
      changes: Iterable<HostingChange>,
      serviceName: string,
      serve: ServiceConfig | null | undefined,
    ): Promise<HostingResult> {
      let configured = 0;
      let writes = 0;
      for (const { parent, advertise } of changes) {
        const secrets = await configSecrets(parent);
        const configMap = proxiesConfigMapOf(parent, secrets);
        // What the proxies serve is in place before they advertise the name, and stays until they stopped.
        if (advertise && secrets.length && serve !== undefined) {
          if (await serveEntries.edit(configMap, { serviceName, config: serve ?? undefined })) writes++;
        }
        const wrote = await Promise.all(
          secrets.map((secret) => advertised.edit(secret, { serviceName, advertise })),
        );
        writes += wrote.filter(Boolean).length;
        if (!advertise && (await serveEntries.edit(configMap, { serviceName }))) writes++;
        if (advertise) configured += secrets.length;
      }
      return { configured, replicas: configured, writes };
    },
  };
}
