import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { parseHujson } from '../specs/hujson';
import { isRecord } from '../tailscale/response-shape';
import { BatchedObjectEditor } from './batched-editor';

/** One TailscaleServices' change to a replica's AdvertiseServices. */
export interface AdvertiseEdit {
  serviceName: string;
  advertise: boolean;
}

/**
 * Edits of AdvertiseServices in proxy config Secrets, batched per Secret (see BatchedObjectEditor):
 * every TailscaleServices selecting a pool edits the same few Secrets.
 */
export class AdvertisedServicesEditor {
  private readonly editor: BatchedObjectEditor<V1Secret, AdvertiseEdit>;

  constructor(core: CoreV1Api, configKey: string) {
    this.editor = new BatchedObjectEditor<V1Secret, AdvertiseEdit>({
      read: (namespace, name) => core.readNamespacedSecret({ namespace, name }),
      replace: (namespace, name, body) => core.replaceNamespacedSecret({ namespace, name, body }),
      applyBatch: (secret, batch) => withAdvertised(secret, configKey, batch),
    });
  }

  /** Resolves once the edit is stored (true when that took a write of this Secret). */
  edit(secret: V1Secret, edit: AdvertiseEdit): Promise<boolean> {
    return this.editor.edit(secret, edit);
  }
}

function withAdvertised(secret: V1Secret, configKey: string, batch: AdvertiseEdit[]): V1Secret | undefined {
  const raw = Buffer.from(secret.data?.[configKey] ?? '', 'base64').toString('utf8');
  if (!raw) return undefined;
  const config = parseHujson(raw);
  if (!isRecord(config)) {
    throw new Error(
      `${configKey} of Secret ${secret.metadata?.namespace}/${secret.metadata?.name} is not an object`,
    );
  }
  const current = Array.isArray(config.AdvertiseServices)
    ? config.AdvertiseServices.filter((s): s is string => typeof s === 'string')
    : [];
  const next = batch.reduce(
    (list, e) =>
      e.advertise ? [...new Set([...list, e.serviceName])].sort() : list.filter((s) => s !== e.serviceName),
    current,
  );
  if (JSON.stringify(next) === JSON.stringify(current)) return undefined;
  config.AdvertiseServices = next;
  return {
    ...secret,
    data: { ...secret.data, [configKey]: Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}
