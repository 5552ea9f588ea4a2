import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../runtime/logger';
import { consumerKeyOf, type ActivityContext, type OperatorIdentity } from './context';
import { createEndpointsActivities } from './endpoints';
import { CustomObjects } from './kubernetes/custom-objects';
import { checkSecretKeys } from './kubernetes/secrets';
import { patchStatus, type PatchStatusInput } from './kubernetes/status';
import { TailscaleClientRegistry } from './tailscale/client-registry';
import { TailnetClients } from './tailnets';

export interface ActivityDeps {
  kube: KubeConfig;
  logger: Logger;
  identity: OperatorIdentity;
  tailscaleApiBaseUrl: string;
}

export function createActivityContext(deps: ActivityDeps): ActivityContext {
  const logger = deps.logger.child({ component: 'activities' });
  return {
    kube: deps.kube,
    objects: new CustomObjects(deps.kube),
    tailnets: new TailnetClients(
      deps.kube,
      new TailscaleClientRegistry({ logger }),
      deps.tailscaleApiBaseUrl,
    ),
    identity: deps.identity,
    logger,
  };
}

/**
 * Every activity the worker registers. Each does one kind of I/O and is idempotent, so Temporal may
 * retry it freely; names read as steps in the Temporal UI.
 */
export function createActivities(deps: ActivityDeps) {
  const ctx = createActivityContext(deps);
  return {
    async patchStatus(input: PatchStatusInput) {
      return patchStatus(ctx.objects, ctx.logger, input);
    },
    async checkOAuthSecret(ref: { namespace: string; name: string }) {
      return checkSecretKeys(deps.kube, ref, ['client_id', 'client_secret']);
    },
    async operatorIdentity() {
      return { ...ctx.identity, consumerKey: consumerKeyOf(ctx.identity) };
    },
    ...createEndpointsActivities(ctx),
  };
}

export type Activities = ReturnType<typeof createActivities>;
