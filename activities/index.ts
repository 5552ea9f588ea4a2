import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../runtime/logger';
import type { ActivityContext, OperatorIdentity } from './context';
import { createEndpointsActivities } from './endpoints';
import { createGatewayActivities } from './gateway';
import { createGatewayHostingActivities } from './gateway-hosting';
import { hostname } from 'node:os';
import { CustomObjects } from './kubernetes/custom-objects';
import { createEventRecorder } from './kubernetes/events';
import { checkSecretKeys } from './kubernetes/secrets';
import { patchStatus, type PatchStatusInput } from './kubernetes/status';
import { setFinalizer, type FinalizerTarget } from './kubernetes/finalizers';
import { createRoutePolicyActivities } from './route-policy';
import { createServicesActivities } from './services';
import { createTailnetCheckActivities } from './tailnet-checks';
import { TailscaleClientRegistry } from './tailscale/client-registry';
import { TailnetClients } from './tailnets';
import { createTemporalSignalActivities, type TemporalDeps } from './temporal-signals';
import { createVipActivities } from './vip';
import { finalizerName } from '../api/common';

export interface ActivityDeps {
  kube: KubeConfig;
  logger: Logger;
  identity: OperatorIdentity;
  /** Empty or absent: every namespace. */
  watchNamespaces?: string[];
  /** Where the proxies and their Secrets live (OPERATOR_NAMESPACE). */
  operatorNamespace: string;
  /** The admin allow-list of tags (PROXY_ALLOWED_TAGS); empty or absent: any tag the OAuth client owns. */
  allowedTags?: string[];
  tailscaleApiBaseUrl: string;
  /** For activities that signal other workflows (signal-with-start is client-only). */
  temporal?: TemporalDeps;
  sweeper?: SweeperSettings;
}

export interface SweeperSettings {
  intervalMs: number;
  staleAfterMs: number;
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
    watchNamespaces: deps.watchNamespaces ?? [],
    operatorNamespace: deps.operatorNamespace,
    allowedTags: deps.allowedTags ?? [],
    logger,
    events: createEventRecorder(
      deps.kube,
      logger,
      process.env.POD_NAME ?? hostname(),
      deps.watchNamespaces?.length ? undefined : 'default',
    ),
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
      return patchStatus(ctx.objects, ctx.logger, input, ctx.events);
    },
    async checkOAuthSecret(ref: { namespace: string; name: string }) {
      return checkSecretKeys(deps.kube, ref, ['client_id', 'client_secret']);
    },
    async ensureFinalizer(input: FinalizerTarget) {
      return setFinalizer(deps.kube, input, finalizerName, true);
    },
    async removeFinalizer(input: FinalizerTarget) {
      return setFinalizer(deps.kube, input, finalizerName, false);
    },
    /** Operator-wide settings workflows need (workflow code cannot read the environment). */
    async sweeperSettings(): Promise<SweeperSettings> {
      return Promise.resolve(deps.sweeper ?? { intervalMs: 10 * 60_000, staleAfterMs: 30 * 60_000 });
    },
    ...createTailnetCheckActivities(ctx),
    ...createServicesActivities(ctx),
    ...createVipActivities(ctx, deps.sweeper?.staleAfterMs),
    ...createTemporalSignalActivities(deps.temporal),
    ...createEndpointsActivities(ctx),
    ...createGatewayActivities(ctx),
    ...createGatewayHostingActivities(ctx),
    ...createRoutePolicyActivities(ctx),
  };
}

export type Activities = ReturnType<typeof createActivities>;
