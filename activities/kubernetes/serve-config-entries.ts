import type { CoreV1Api, V1ConfigMap, V1ObjectMeta } from '@kubernetes/client-node';
import { serveConfigOf, type ServiceConfig } from '../specs/serve-config';
import { serveConfigKey } from '../specs/proxy-group';
import { isRecord } from '../tailscale/response-shape';
import { BatchedObjectEditor } from './batched-editor';
import { isConflict, isNotFound, toKubeActivityFailure } from './errors';

/** One TailscaleServices' entry in a proxy set's serve config: set it, or (no config) remove it. */
export interface ServeEntryEdit {
  serviceName: string;
  config?: ServiceConfig;
}

/**
 * Edits of the `Services` map in the `serve-config.json` key of proxies ConfigMaps, one entry per VIP
 * service, batched per ConfigMap like AdvertiseServices (see BatchedObjectEditor): every
 * TailscaleServices served by a proxy set edits its one ConfigMap. Other keys (egress) are left alone.
 */
export class ServeConfigEditor {
  private readonly editor: BatchedObjectEditor<V1ConfigMap, ServeEntryEdit>;

  constructor(private readonly core: CoreV1Api) {
    this.editor = new BatchedObjectEditor<V1ConfigMap, ServeEntryEdit>({
      read: (namespace, name) => core.readNamespacedConfigMap({ namespace, name }),
      replace: (namespace, name, body) => core.replaceNamespacedConfigMap({ namespace, name, body }),
      applyBatch: withServeEntries,
    });
  }

  /**
   * Resolves once the edit is stored (true when that took a write). A missing ConfigMap is created
   * with `metadata` (the proxies workflow pre-creates it, but a service may get there first).
   */
  async edit(
    metadata: V1ObjectMeta & { namespace: string; name: string },
    edit: ServeEntryEdit,
  ): Promise<boolean> {
    const { namespace, name } = metadata;
    let live: V1ConfigMap | undefined = await this.read(namespace, name);
    if (!live) {
      if (!edit.config) return false;
      const created = withServeEntries({ metadata }, [edit]);
      try {
        await this.core.createNamespacedConfigMap({ namespace, body: created! });
        return true;
      } catch (err) {
        if (!isConflict(err)) throw toKubeActivityFailure(err, `creating ConfigMap ${namespace}/${name}`);
      }
      live = await this.read(namespace, name);
      if (!live)
        throw toKubeActivityFailure(new Error('gone right after a create conflict'), `reading ${name}`);
    }
    return this.editor.edit(live, edit);
  }

  private async read(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    try {
      return await this.core.readNamespacedConfigMap({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toKubeActivityFailure(err, `reading ConfigMap ${namespace}/${name}`);
    }
  }
}

/** The serve config entries one proxy set holds, by VIP service name. */
export function serveEntriesOf(configMap: V1ConfigMap): Record<string, ServiceConfig> {
  const raw = configMap.data?.[serveConfigKey];
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  const services = isRecord(parsed) ? parsed.Services : undefined;
  if (!isRecord(parsed) || (services !== undefined && !isRecord(services))) {
    throw new Error(
      `${serveConfigKey} of ConfigMap ${configMap.metadata?.namespace}/${configMap.metadata?.name} is not a serve config`,
    );
  }
  return { ...(services as Record<string, ServiceConfig> | undefined) };
}

/** The ConfigMap with the batch applied to its serve config; undefined when nothing changes. */
export function withServeEntries(configMap: V1ConfigMap, batch: ServeEntryEdit[]): V1ConfigMap | undefined {
  const current = serveEntriesOf(configMap);
  const next = { ...current };
  for (const e of batch) {
    if (e.config) next[e.serviceName] = e.config;
    else delete next[e.serviceName];
  }
  const text = (entries: Record<string, ServiceConfig>) =>
    Object.keys(entries).length ? JSON.stringify(serveConfigOf(entries)) : undefined;
  const before = configMap.data?.[serveConfigKey];
  const after = text(next);
  // Compared as written (services sorted): an edit that changes nothing costs no write.
  if (after === before) return undefined;
  const { [serveConfigKey]: _old, ...others } = configMap.data ?? {};
  // The last entry gone: the key goes too (containerboot skips a missing file).
  return { ...configMap, data: after === undefined ? others : { ...others, [serveConfigKey]: after } };
}
