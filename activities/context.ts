import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../runtime/logger';
import type { CustomObjects } from './kubernetes/custom-objects';
import type { TailnetClients } from './tailnets';

/** Who this operator is in VIP service registries shared with operators in other clusters. */
export interface OperatorIdentity {
  operatorId: string;
  clusterId: string;
}

/** What every activity module's factory receives (Temporal samples' createActivities(deps) pattern). */
export interface ActivityContext {
  kube: KubeConfig;
  objects: CustomObjects;
  tailnets: TailnetClients;
  identity: OperatorIdentity;
  /** The namespaces this install is limited to (and has RBAC in); empty: every namespace. */
  watchNamespaces: string[];
  logger: Logger;
}

/** `<clusterID>/<operatorID>`: this operator's key in a VIP service registry. */
export const consumerKeyOf = (identity: OperatorIdentity) => `${identity.clusterId}/${identity.operatorId}`;
