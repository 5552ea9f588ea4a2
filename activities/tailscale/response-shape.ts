/** Checks on response bodies: a shape the client does not expect is a clear, non-retryable error. */
import { TailscaleApiError } from './errors';

export type JsonRecord = Record<string, unknown>;

export function unexpectedResponse(what: string, method: string, path: string): TailscaleApiError {
  return new TailscaleApiError({
    type: 'TailscaleUnexpectedResponse',
    retryable: false,
    method,
    path,
    message: `Tailscale API ${method} ${path} returned an unexpected body: ${what}.`,
  });
}

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

export function isStringMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((item) => typeof item === 'string');
}

export const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;
export const stringOr = (value: unknown, fallback: string): string =>
  typeof value === 'string' ? value : fallback;
export const booleanOr = (value: unknown, fallback: boolean): boolean =>
  typeof value === 'boolean' ? value : fallback;

/**
 * The array under `field` of a list response. Go servers encode an empty slice as `null`, and with
 * `omitempty` leave the field out: both read as an empty list. Anything else that is not an array
 * is an unexpected body.
 */
export function listField(json: unknown, field: string, method: string, path: string): unknown[] {
  if (isRecord(json)) {
    const value = json[field];
    if (Array.isArray(value)) return value;
    if (value === undefined || value === null) return [];
  }
  throw unexpectedResponse(`expected {"${field}": [...]}`, method, path);
}
