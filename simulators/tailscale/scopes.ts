import { forbidden, notFound } from './api-error';
import type { ScopeRequirement } from './context';

/**
 * OAuth scope checks. A write scope implies its `:read` form, a parent scope implies its children
 * (`devices` covers `devices:core`), and `all` / `all:read` cover everything / every read.
 */
export function scopeGranted(granted: readonly string[], required: string): boolean {
  return granted.some((scope) => {
    if (scope === 'all' || scope === required) return true;
    if (scope === 'all:read') return required.endsWith(':read');
    const requiredBase = required.endsWith(':read') ? required.slice(0, -':read'.length) : required;
    if (scope === requiredBase) return true;
    if (scope.endsWith(':read')) {
      const base = scope.slice(0, -':read'.length);
      return required.endsWith(':read') && requiredBase.startsWith(`${base}:`);
    }
    return requiredBase.startsWith(`${scope}:`);
  });
}

const scopePattern = /^[a-z_]+(:[a-z_]+)*$/;

export const isWellFormedScope = (scope: string): boolean => scopePattern.test(scope);

/** Throws the API's answer for the first requirement the token's scopes do not cover. */
export function requireScopes(granted: readonly string[], requirements: readonly ScopeRequirement[]): void {
  for (const requirement of requirements) {
    if (!scopeGranted(granted, requirement.scope)) {
      throw requirement.whenMissing === 404 ? notFound() : forbidden();
    }
  }
}
