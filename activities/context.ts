import type { KubeConfig } from '@kubernetes/client-node';
import type { OperatorIdentity } from '../runtime/identity';
import type { Logger } from '../runtime/logger';
import type { CustomObjects } from './kubernetes/custom-objects';
import type { EventRecorder } from './kubernetes/events';
import type { TailnetClients } from './tailnets';

export { consumerKeyOf, type OperatorIdentity } from '../runtime/identity';

/** What every activity module's factory receives (Temporal samples' createActivities(deps) pattern). */
export interface ActivityContext {
  kube: KubeConfig;
  objects: CustomObjects;
  tailnets: TailnetClients;
  identity: OperatorIdentity;
  /** The namespaces this install is limited to (and has RBAC in); empty: every namespace. */
  watchNamespaces: string[];
  /** Where every proxy object lives (proxyPlacement): tenants cannot read it. */
  operatorNamespace: string;
  /** The admin allow-list of tags (PROXY_ALLOWED_TAGS): proxies without a class's tags, VIP services. Empty: any. */
  allowedTags: string[];
  logger: Logger;
  /** Kubernetes Events about our objects; written from activities so a replay never repeats one. */
  events: EventRecorder;
}
