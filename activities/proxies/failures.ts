import { ApplicationFailure } from '@temporalio/common';
import { toKubeActivityFailure } from '../kubernetes/errors';
import { TailnetUnavailable } from '../tailnets';
import { isTailscaleApiError, toActivityFailure } from '../tailscale/errors';

/**
 * Runs an activity body and classifies what it throws: our own failures pass through, an unusable
 * tailnet and Tailscale API errors keep their types (the workflow turns some into conditions), and
 * anything else is a Kubernetes error described by `doing`.
 */
export async function classified<T>(doing: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    if (err instanceof TailnetUnavailable) throw err.toFailure();
    if (isTailscaleApiError(err)) throw toActivityFailure(err);
    throw toKubeActivityFailure(err, doing);
  }
}
