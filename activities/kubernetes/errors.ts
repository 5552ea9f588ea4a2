import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';

export function kubeStatusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code =
    (err as { code?: unknown; statusCode?: unknown } | null)?.code ??
    (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown) => kubeStatusCode(err) === 404;
export const isConflict = (err: unknown) => kubeStatusCode(err) === 409;

/** The API server's own explanation (the Status object's message), never the raw body. */
export function kubeErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const status = JSON.parse(String(err.body)) as { message?: string };
      if (status.message) return status.message;
    } catch {
      // fall through to the generic message
    }
    return `Kubernetes API returned ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Turns a Kubernetes API error into a Temporal failure: 400/403/404/422 will not fix themselves, so
 * retrying them only costs actions; everything else (conflicts, 429, 5xx, network) is retried.
 */
export function toKubeActivityFailure(err: unknown, doing: string): ApplicationFailure {
  const code = kubeStatusCode(err);
  const message = `${doing}: ${kubeErrorMessage(err)}`;
  const permanent = code === 400 || code === 403 || code === 404 || code === 422;
  return ApplicationFailure.create({
    message,
    type: code ? `Kubernetes${code}` : 'KubernetesUnavailable',
    nonRetryable: permanent,
  });
}
