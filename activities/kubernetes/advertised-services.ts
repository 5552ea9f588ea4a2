import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { parseHujson } from '../specs/hujson';
import { isRecord } from '../tailscale/response-shape';
import { isConflict, toKubeActivityFailure } from './errors';

/** One TailscaleServices' change to a replica's AdvertiseServices. */
export interface AdvertiseEdit {
  serviceName: string;
  advertise: boolean;
}

interface Pending extends AdvertiseEdit {
  done(wrote: boolean): void;
  fail(err: unknown): void;
}

const maxConflictRetries = 8;

/**
 * Edits of AdvertiseServices in proxy config Secrets, applied together per Secret. Every TailscaleServices
 * selecting a pool edits the same few Secrets; run one by one, concurrent edits from this worker raced on
 * resourceVersion (a herd of 409s and activity retries when many services are created at once). Here the
 * edits that arrive while a Secret is being written wait and go out in its next write, read-modify-write
 * on the resourceVersion as before; a conflict with another writer re-reads and reapplies the batch.
 */
export class AdvertisedServicesEditor {
  private readonly queues = new Map<string, { latest: V1Secret; edits: Pending[] }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly configKey: string,
  ) {}

  /** Resolves once the edit is stored (true when that took a write of this Secret). */
  edit(secret: V1Secret, edit: AdvertiseEdit): Promise<boolean> {
    const key = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
    return new Promise<boolean>((done, fail) => {
      const pending: Pending = { ...edit, done, fail };
      const queue = this.queues.get(key);
      if (queue) {
        queue.edits.push(pending);
        return;
      }
      const fresh = { latest: secret, edits: [pending] };
      this.queues.set(key, fresh);
      void this.drain(key, fresh);
    });
  }

  private async drain(key: string, queue: { latest: V1Secret; edits: Pending[] }): Promise<void> {
    try {
      while (queue.edits.length) {
        const batch = queue.edits.splice(0);
        try {
          const wrote = await this.apply(queue, batch);
          for (const e of batch) e.done(wrote);
        } catch (err) {
          for (const e of batch) e.fail(err);
        }
      }
    } finally {
      this.queues.delete(key);
    }
  }

  private async apply(queue: { latest: V1Secret }, batch: AdvertiseEdit[]): Promise<boolean> {
    const namespace = queue.latest.metadata?.namespace ?? '';
    const name = queue.latest.metadata?.name ?? '';
    for (let attempt = 0; ; attempt++) {
      const secret = queue.latest;
      const raw = Buffer.from(secret.data?.[this.configKey] ?? '', 'base64').toString('utf8');
      if (!raw) return false;
      const config = parseHujson(raw);
      if (!isRecord(config))
        throw new Error(`${this.configKey} of Secret ${namespace}/${name} is not an object`);
      const current = Array.isArray(config.AdvertiseServices)
        ? config.AdvertiseServices.filter((s): s is string => typeof s === 'string')
        : [];
      const next = batch.reduce(
        (list, e) =>
          e.advertise
            ? [...new Set([...list, e.serviceName])].sort()
            : list.filter((s) => s !== e.serviceName),
        current,
      );
      if (JSON.stringify(next) === JSON.stringify(current)) return false;
      config.AdvertiseServices = next;
      try {
        queue.latest = await this.core.replaceNamespacedSecret({
          namespace,
          name,
          body: {
            ...secret,
            data: {
              ...secret.data,
              [this.configKey]: Buffer.from(JSON.stringify(config)).toString('base64'),
            },
          },
        });
        return true;
      } catch (err) {
        if (!isConflict(err) || attempt >= maxConflictRetries)
          throw toKubeActivityFailure(err, `editing ${name}`);
        queue.latest = await this.core.readNamespacedSecret({ namespace, name });
      }
    }
  }
}
