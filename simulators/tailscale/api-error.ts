/**
 * Errors the simulated API answers with. The real API always sends JSON `{"message": ...}` on its own
 * routes, and Go clients fail to classify anything else, so every handler error goes through here.
 */

// The standard messages from the OpenAPI spec's components.responses.
export const standardMessages: Readonly<Record<number, string>> = {
  400: 'bad request',
  403: 'forbidden',
  404: 'not found',
  409: 'conflict',
  413: 'request body too large',
  429: 'too many requests',
  500: 'internal server error',
  501: 'not implemented',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'request took too long to process, please try again later',
};

export function standardMessage(status: number): string {
  return standardMessages[status] ?? `status ${status}`;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string = standardMessage(status),
    readonly headers: Readonly<Record<string, string>> = {},
    /** Extra JSON fields next to `message` (the OAuth endpoint adds `error`/`error_description`). */
    readonly extraBody: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, message);
export const notFound = (message = standardMessage(404)): ApiError => new ApiError(404, message);
export const forbidden = (message = standardMessage(403)): ApiError => new ApiError(403, message);
