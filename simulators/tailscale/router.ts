/**
 * A tiny method + path-template router. Templates use `{param}` segments; paths are matched after
 * percent-decoding each segment, so `svc%3Aweb` and `svc:web` reach the same handler.
 */

type Segment = { literal: string } | { param: string };

export interface RouteMatch<H> {
  handler: H;
  template: string;
  params: Record<string, string>;
}

export type RouteLookup<H> =
  | { kind: 'match'; match: RouteMatch<H> }
  | { kind: 'method-not-allowed'; allow: string[]; template: string }
  | { kind: 'no-route' };

interface Entry<H> {
  method: string;
  template: string;
  segments: Segment[];
  handler: H;
}

export class Router<H> {
  private readonly entries: Entry<H>[] = [];

  add(method: string, template: string, handler: H): void {
    const segments = template
      .split('/')
      .slice(1)
      .map((part): Segment => (/^\{\w+\}$/.test(part) ? { param: part.slice(1, -1) } : { literal: part }));
    this.entries.push({ method, template, segments, handler });
  }

  lookup(method: string, pathSegments: readonly string[]): RouteLookup<H> {
    const allow: string[] = [];
    let allowTemplate = '';
    for (const entry of this.entries) {
      const params = matchSegments(entry.segments, pathSegments);
      if (!params) continue;
      if (entry.method === method)
        return { kind: 'match', match: { handler: entry.handler, template: entry.template, params } };
      allow.push(entry.method);
      allowTemplate = entry.template;
    }
    return allow.length > 0
      ? { kind: 'method-not-allowed', allow, template: allowTemplate }
      : { kind: 'no-route' };
  }
}

function matchSegments(template: readonly Segment[], path: readonly string[]): Record<string, string> | null {
  if (template.length !== path.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const segment = template[i]!;
    const value = path[i]!;
    if ('literal' in segment) {
      if (segment.literal !== value) return null;
    } else {
      if (value === '') return null;
      params[segment.param] = value;
    }
  }
  return params;
}

/** Decoded path segments of a request target, or null when its percent-encoding is malformed. */
export function decodePathSegments(pathname: string): string[] | null {
  try {
    return pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return null;
  }
}
