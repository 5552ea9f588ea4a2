import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../runtime/logger';
import { CustomObjects } from './kubernetes/custom-objects';
import { checkSecretKeys } from './kubernetes/secrets';
import { patchStatus, type PatchStatusInput } from './kubernetes/status';

export interface ActivityDeps {
  kube: KubeConfig;
  logger: Logger;
}

/**
 * Every activity the worker registers. Each does one kind of I/O and is idempotent, so Temporal may
 * retry it freely; names read as steps in the Temporal UI.
 */
export function createActivities(deps: ActivityDeps) {
  const objects = new CustomObjects(deps.kube);
  const logger = deps.logger.child({ component: 'activities' });
  return {
    async patchStatus(input: PatchStatusInput) {
      return patchStatus(objects, logger, input);
    },
    async checkOAuthSecret(ref: { namespace: string; name: string }) {
      return checkSecretKeys(deps.kube, ref, ['client_id', 'client_secret']);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
