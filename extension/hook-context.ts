import type { Logger } from '../runtime/logger';
import type { BackendIndex } from './backend-index';

/** What every hook gets: the index (read one snapshot per call) and a logger. Nothing that does I/O. */
export interface HookDeps {
  index: BackendIndex;
  logger: Logger;
  /** Kubernetes cluster DNS domain, for proxy pod names (cluster.local unless configured). */
  clusterDomain: string;
}

/** A request we cannot act on (malformed resource JSON, undecodable Envoy message): INVALID_ARGUMENT. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
}
