/**
 * Request counts by method and route, e.g. `GET /api/v2/tailnet/-/vip-services/{name}`, plus totals,
 * so tests and benchmarks can prove "one token request for many calls" or "no writes when idle".
 */
export interface RequestCounts {
  routes: Record<string, number>;
  total: number;
  /** Mutating API calls (not GET, and not the OAuth token exchange). */
  writes: number;
}

export const unmatchedRoute = '(unmatched)';

export class RequestCounter {
  private routes = new Map<string, number>();
  private total = 0;
  private writes = 0;

  record(method: string, route: string): void {
    const key = `${method} ${route}`;
    this.routes.set(key, (this.routes.get(key) ?? 0) + 1);
    this.total++;
    if (isWrite(method, route)) this.writes++;
  }

  snapshot(): RequestCounts {
    return { routes: Object.fromEntries(this.routes), total: this.total, writes: this.writes };
  }

  reset(): void {
    this.routes.clear();
    this.total = 0;
    this.writes = 0;
  }
}

function isWrite(method: string, route: string): boolean {
  return (
    !['GET', 'HEAD', 'OPTIONS'].includes(method) &&
    route !== '/api/v2/oauth/token' &&
    route !== unmatchedRoute
  );
}

/** The route template as counted: parameters stay as `{name}`, except the tailnet, kept as sent (`-`). */
export function countedRoute(template: string, params: Record<string, string>): string {
  return params.tailnet === undefined ? template : template.replace('{tailnet}', params.tailnet);
}
