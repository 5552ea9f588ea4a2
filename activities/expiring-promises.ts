/**
 * Results of reads kept by key for a while: callers of the same moment share one read, a result serves
 * until `ttlMs` after its read began, and a failed read (or one `keep` refuses) is dropped at once.
 */
export class ExpiringPromises<K, V> {
  private readonly entries = new Map<K, { until: number; value: Promise<V> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K, read: () => Promise<V>, keep: (value: V) => boolean = () => true): Promise<V> {
    const now = this.now();
    const kept = this.entries.get(key);
    if (kept && now < kept.until) return kept.value;
    // Keys of objects that are gone would otherwise stay for the life of the process.
    if (this.entries.size >= 256) {
      for (const [k, e] of this.entries) if (now >= e.until) this.entries.delete(k);
    }
    const entry = { until: now + this.ttlMs, value: read() };
    this.entries.set(key, entry);
    const forget = () => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    entry.value.then((value) => keep(value) || forget(), forget);
    return entry.value;
  }
}
