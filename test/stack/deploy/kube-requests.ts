import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeResponse {
  status: number;
  body: Record<string, unknown>;
}

/**
 * A raw request with the harness's credentials. The chart tests send objects exactly as helm rendered
 * them: client-node's typed models would silently drop a field they do not know (or a misspelled one),
 * and the API server would then validate something other than what the chart installs.
 */
export async function kubeRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  accept = 'application/json',
): Promise<KubeResponse> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const opts: Parameters<typeof request>[1] = { method, headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server),
      {
        ...opts,
        headers: {
          ...opts.headers,
          accept,
          ...(payload ? { 'content-type': contentType } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            parsed = { message: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

interface Resource {
  name: string;
  namespaced: boolean;
}

/** apiVersion/kind → REST resource, from the API server's own discovery. */
export class Discovery {
  private readonly groups = new Map<string, Promise<Map<string, Resource>>>();

  constructor(private readonly kc: KubeConfig) {}

  async resource(apiVersion: string, kind: string): Promise<Resource> {
    let group = this.groups.get(apiVersion);
    if (!group) {
      group = this.load(apiVersion);
      this.groups.set(apiVersion, group);
    }
    const found = (await group).get(kind);
    if (!found) throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
    return found;
  }

  private async load(apiVersion: string): Promise<Map<string, Resource>> {
    const res = await kubeRequest(this.kc, 'GET', apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`);
    if (res.status !== 200) throw new Error(`discovery of ${apiVersion}: HTTP ${res.status}`);
    const list = (res.body.resources ?? []) as { name: string; kind: string; namespaced: boolean }[];
    return new Map(
      list
        .filter((r) => !r.name.includes('/'))
        .map((r) => [r.kind, { name: r.name, namespaced: r.namespaced }]),
    );
  }
}

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

export async function objectPath(discovery: Discovery, obj: ManifestObject, namespace: string) {
  const { name, namespaced } = await discovery.resource(obj.apiVersion, obj.kind);
  const base = obj.apiVersion === 'v1' ? '/api/v1' : `/apis/${obj.apiVersion}`;
  const ns = namespaced ? `/namespaces/${obj.metadata.namespace ?? namespace}` : '';
  return `${base}${ns}/${name}/${encodeURIComponent(obj.metadata.name)}`;
}

/**
 * Server-side apply. `dryRun` runs admission, schema validation (strict: an unknown or misspelled field
 * is an error) and every webhook-free check without persisting anything.
 */
export async function serverSideApply(
  kc: KubeConfig,
  discovery: Discovery,
  obj: ManifestObject,
  opts: { namespace: string; dryRun: boolean },
): Promise<KubeResponse> {
  const params = new URLSearchParams({
    fieldManager: 'tsgw-chart-test',
    force: 'true',
    fieldValidation: 'Strict',
    ...(opts.dryRun ? { dryRun: 'All' } : {}),
  });
  return kubeRequest(
    kc,
    'PATCH',
    `${await objectPath(discovery, obj, opts.namespace)}?${params.toString()}`,
    obj,
    'application/apply-patch+yaml',
  );
}
