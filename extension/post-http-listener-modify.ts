/**
 * PostHTTPListenerModify: nothing of ours lives in listeners yet. The listener goes back as the exact
 * bytes Envoy Gateway sent (its HttpConnectionManager carries fields newer than any .proto we load),
 * never a re-encoding; returning it rather than nothing keeps older EGs, which replace on any response,
 * safe too.
 */
import type { PostHTTPListenerModifyRequest } from './codec';
import type { HookDeps } from './hook-context';
import { InvalidRequestError } from './hook-context';

export function postHTTPListenerModify(
  req: PostHTTPListenerModifyRequest,
  _deps: HookDeps,
): { listener?: Uint8Array } {
  if (!req.listener?.length) throw new InvalidRequestError('request has no listener');
  return { listener: req.listener };
}
