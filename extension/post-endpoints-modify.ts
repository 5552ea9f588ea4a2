/**
 * PostEndpointsModify (EG >= 1.8): runs before PostClusterModify with only a ClusterLoadAssignment and no
 * context. Our clusters get their endpoints inline in PostClusterModify (the cluster stops being EDS),
 * so the load assignment goes back as sent.
 */
import type { PostEndpointsModifyRequest } from './codec';
import type { HookDeps } from './hook-context';

export function postEndpointsModify(
  req: PostEndpointsModifyRequest,
  _deps: HookDeps,
): { loadAssignment?: Uint8Array } {
  return { loadAssignment: req.loadAssignment };
}
