import { ApplicationFailure } from '@temporalio/common';
import { consumerKeyOf, type ActivityContext } from '../context';
import { toActivityFailure } from '../tailscale/errors';
import { TailnetUnavailable } from '../tailnets';
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
import { RegistryError } from './registry';

/** Peers judge a consumer stale after this; we refresh our own lastSeen well before. */
export const defaultStaleAfterMs = 30 * 60_000;

/** `configuredStaleAfterMs`: STALE_CONSUMER_SECONDS, which also paces the refresh of our own lastSeen. */
export function createVipActivities(ctx: ActivityContext, configuredStaleAfterMs = defaultStaleAfterMs) {
  const options = async (
    tailnet: string,
    staleAfterMs = configuredStaleAfterMs,
  ): Promise<LifecycleOptions> => ({
    client: (await ctx.tailnets.client(tailnet)).client,
    self: consumerKeyOf(ctx.identity),
    refreshAfterMs: staleAfterMs / 2,
  });
  return {
    async attachVipService(input: AttachInput & { tailnet: string }): Promise<AttachResult> {
      return explainFailures(async () => attachVipService(await options(input.tailnet), input));
    },
    async detachVipService(input: { tailnet: string; serviceName: string }): Promise<DetachResult> {
      return explainFailures(async () => detachVipService(await options(input.tailnet), input.serviceName));
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
