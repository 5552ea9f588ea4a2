/**
 * The Kubernetes objects Envoy Gateway attaches to hook requests (ExtensionResource.unstructured_bytes,
 * JSON of an unstructured object). Ours are recognised by API group and kind.
 */
import { group } from '../api/common';
import { backendKinds, type BackendKind } from './backend-index';
import type { ExtensionResource } from './codec';
import { InvalidRequestError } from './hook-context';

export interface UnstructuredObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; labels?: Record<string, string> };
  spec?: unknown;
  status?: unknown;
}

export function parseExtensionResource(resource: ExtensionResource): UnstructuredObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(resource.unstructuredBytes ?? []).toString('utf8'));
  } catch (err) {
    throw new InvalidRequestError(`extension resource is not JSON: ${(err as Error).message}`);
  }
  const obj = parsed as Partial<UnstructuredObject> | null;
  if (
    !obj ||
    typeof obj !== 'object' ||
    typeof obj.apiVersion !== 'string' ||
    typeof obj.kind !== 'string' ||
    typeof obj.metadata?.name !== 'string'
  ) {
    throw new InvalidRequestError('extension resource lacks apiVersion, kind or metadata.name');
  }
  return obj as UnstructuredObject;
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

export function isOurKind(obj: UnstructuredObject, kinds: readonly string[]): boolean {
  return groupOf(obj.apiVersion) === group && kinds.includes(obj.kind);
}

export function isTailscaleBackend(
  obj: UnstructuredObject,
): obj is UnstructuredObject & { kind: BackendKind } {
  return isOurKind(obj, backendKinds);
}

/** EG fills in the namespace for namespaced custom backends; default to the route's for safety. */
export function namespaceOf(obj: UnstructuredObject, fallback: string): string {
  return obj.metadata.namespace ?? fallback;
}
