import type { V1ObjectMeta } from '@kubernetes/client-node';
import { isConflict, toKubeActivityFailure } from './errors';

/** How to read, rewrite and store one kind of shared object (a proxy config Secret, a proxies ConfigMap). */
export interface BatchedEditTarget<Obj extends { metadata?: V1ObjectMeta }, Edit> {
  read(namespace: string, name: string): Promise<Obj>;
  /** A replace carrying the object's resourceVersion: 409 when another writer moved it on. */
  replace(namespace: string, name: string, body: Obj): Promise<Obj>;
  /** The object with the batch applied, or undefined when the batch changes nothing. */
  applyBatch(current: Obj, batch: Edit[]): Obj | undefined;
}

interface Pending<Edit> {
  edit: Edit;
  done(wrote: boolean): void;
  fail(err: unknown): void;
}

const maxConflictRetries = 8;

/**
 * Read-modify-write edits of one shared object, applied together per object. Many TailscaleServices
 * edit the same few proxy objects; run one by one, concurrent edits from this worker raced on
 * resourceVersion (a herd of 409s and activity retries when many services are created at once). Here the
 * edits that arrive while an object is being written wait and go out in its next write, conditional on
 * the resourceVersion; a conflict with another writer re-reads and reapplies the batch.
 */
export class BatchedObjectEditor<Obj extends { metadata?: V1ObjectMeta }, Edit> {
  private readonly queues = new Map<string, { latest: Obj; edits: Pending<Edit>[] }>();

  constructor(private readonly target: BatchedEditTarget<Obj, Edit>) {}

  /** Resolves once the edit is stored (true when that took a write of this object). */
  edit(current: Obj, edit: Edit): Promise<boolean> {
    const key = `${current.metadata?.namespace}/${current.metadata?.name}`;
    return new Promise<boolean>((done, fail) => {
      const pending: Pending<Edit> = { edit, done, fail };
      const queue = this.queues.get(key);
      if (queue) {
        queue.edits.push(pending);
        return;
      }
      const fresh = { latest: current, edits: [pending] };
      this.queues.set(key, fresh);
      void this.drain(key, fresh);
    });
  }

  private async drain(key: string, queue: { latest: Obj; edits: Pending<Edit>[] }): Promise<void> {
    try {
      while (queue.edits.length) {
        const batch = queue.edits.splice(0);
        try {
          const wrote = await this.apply(
            queue,
            batch.map((p) => p.edit),
          );
          for (const e of batch) e.done(wrote);
        } catch (err) {
          for (const e of batch) e.fail(err);
        }
      }
    } finally {
      this.queues.delete(key);
    }
  }

  private async apply(queue: { latest: Obj }, batch: Edit[]): Promise<boolean> {
    const namespace = queue.latest.metadata?.namespace ?? '';
    const name = queue.latest.metadata?.name ?? '';
    for (let attempt = 0; ; attempt++) {
      const next = this.target.applyBatch(queue.latest, batch);
      if (!next) return false;
      try {
        queue.latest = await this.target.replace(namespace, name, next);
        return true;
      } catch (err) {
        if (!isConflict(err) || attempt >= maxConflictRetries)
          throw toKubeActivityFailure(err, `editing ${name}`);
        queue.latest = await this.target.read(namespace, name);
      }
    }
  }
}
