import { ApplicationFailure } from '@temporalio/common';
import { Counter } from 'prom-client';
import { metricsRegistry } from '../../runtime/metrics';
import { consumerKeyOf, type ActivityContext } from '../context';
import { allowListMessage, tagsOutside } from '../proxies/allowed-tags';
import { toActivityFailure } from '../tailscale/errors';
import { TailnetUnavailable } from '../tailnets';
import { DeviceLabels, readVipServiceHosts, type VipServiceHostView } from './hosts';
import {
  attachVipService,
  detachVipService,
  sweepVipServices,
  type AttachInput,
  type AttachResult,
  type DetachResult,
  type LifecycleOptions,
  type SweepResult,
} from './lifecycle';
import { attachNotices } from './lifecycle-events';
import { IdentityCollisionError, RegistryError } from './registry';

const vipOperations = new Counter({
  name: 'tsgw_vip_service_operations_total',
  help: 'VIP service attach and detach steps by outcome (Created, Attached, Updated, NotOwned, Detached, Deleted, ...).',
  labelNames: ['operation', 'outcome'] as const,
  registers: [metricsRegistry],
});

/** Peers judge a consumer stale after this; we refresh our own lastSeen well before. */
export const defaultStaleAfterMs = 30 * 60_000;

/** `configuredStaleAfterMs`: STALE_CONSUMER_SECONDS, which also paces the refresh of our own lastSeen. */
export function createVipActivities(ctx: ActivityContext, configuredStaleAfterMs = defaultStaleAfterMs) {
  const deviceLabels = new DeviceLabels();
  const options = async (
    tailnet: string,
    staleAfterMs = configuredStaleAfterMs,
  ): Promise<LifecycleOptions> => ({
    client: await ctx.tailnets.apiClient(tailnet),
    self: consumerKeyOf(ctx.identity),
    instance: ctx.identity.instance,
    refreshAfterMs: staleAfterMs / 2,
    staleAfterMs,
  });
  return {
    /** Attaches, then reads who hosts the service (attached only): readiness needs an approved host. */
    async attachVipService(
      input: AttachInput & { tailnet: string },
    ): Promise<AttachResult & { hosts?: VipServiceHostView[] }> {
      const outside = tagsOutside(ctx.allowedTags, input.spec.tags);
      if (outside.length) {
        throw ApplicationFailure.create({
          type: 'TagsNotPermitted',
          nonRetryable: true,
          message: allowListMessage('spec.vipService.tags', outside, ctx.allowedTags),
        });
      }
      const result = await explainFailures(async () => {
        const opts = await options(input.tailnet);
        const attached = await attachVipService(opts, input);
        if (attached.outcome === 'NotOwned') return attached;
        const hosts = await readVipServiceHosts(opts.client, input.serviceName, input.devices, deviceLabels);
        return { ...attached, hosts };
      });
      vipOperations.inc({ operation: 'attach', outcome: result.outcome });
      for (const notice of attachNotices(input.serviceName, input.routes, result))
        await ctx.events.record(notice);
      return result;
    },
    async detachVipService(input: { tailnet: string; serviceName: string }): Promise<DetachResult> {
      const result = await explainFailures(async () =>
        detachVipService(await options(input.tailnet), input.serviceName),
      );
      vipOperations.inc({ operation: 'detach', outcome: result.outcome });
      return result;
    },
    async sweepVipServices(input: { tailnet: string; staleAfterMs: number }): Promise<SweepResult> {
      return explainFailures(async () =>
        sweepVipServices({
          ...(await options(input.tailnet, input.staleAfterMs)),
          staleAfterMs: input.staleAfterMs,
        }),
      );
    },
  };
}

/** Activity failures a workflow can act on: typed, non-retryable when retrying cannot help. */
export async function explainFailures<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof TailnetUnavailable) throw err.toFailure();
    if (err instanceof IdentityCollisionError) {
      throw ApplicationFailure.create({
        message: err.message,
        type: 'IdentityCollision',
        nonRetryable: true,
      });
    }
    if (err instanceof RegistryError) {
      throw ApplicationFailure.create({
        message: err.message,
        type: 'RegistryUnsupported',
        nonRetryable: true,
      });
    }
    if (err instanceof ApplicationFailure) throw err;
    throw toActivityFailure(err);
  }
}
