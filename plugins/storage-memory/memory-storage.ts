/**
 * An in-memory Storage with the same semantics as storage-sqlite (MVCC history, compare-and-swap,
 * replaying watches, compaction) and no persistence. Meant for tests; it is also the reference the
 * conformance suite is checked against.
 *
 * Everything a single-writer store shares (watch fan-out, revisions, compaction schedule, closing)
 * comes from SingleWriterStorage; this file keeps the data: a sorted key index, each key's versions,
 * and the log of events that watches replay.
 */
import {
  type KeyValue,
  keyRange,
  type ListOptions,
  type ListResult,
  listPage,
  planWrite,
  RevisionTimeline,
  SingleWriterStorage,
  type StorageEvent,
  type StoreOptions,
  type WriteRequest,
} from 'skiff/sdk/storage';

export type MemoryStorageOptions = StoreOptions;

interface Version {
  rev: number;
  createRev: number;
  value: string;
  deleted: boolean;
}

export class MemoryStorage extends SingleWriterStorage {
  readonly backend = 'memory';
  /** Every key that has a version in history, sorted, for range reads (see sortedKeys). */
  private keys: string[] = [];
  /**
   * Keys new since the last range read, in write order. Inserting each one into `keys` at once
   * moved half the array per write (events and generated names land anywhere in it: 10 µs a write
   * at 30,000 keys); merging them in at the next read costs one pass per read instead.
   */
  private newKeys: string[] = [];
  private readonly versions = new Map<string, Version[]>();
  /** One event per revision above the compacted one, oldest first. */
  private log: StorageEvent[] = [];
  /** When each revision was written, for time-based compaction. */
  private readonly written = new RevisionTimeline();

  constructor(options: MemoryStorageOptions = {}) {
    super({ name: 'the memory store', revision: 0, compacted: 0, ...options });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    return this.live(key);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    const at = this.readRevision(options.revision);
    const limit = options.limit || Number.POSITIVE_INFINITY;
    const { lower, upper } = keyRange(prefix, options.after);
    const items: KeyValue[] = [];
    let remaining = 0;
    const keys = this.sortedKeys();
    for (let i = lowerBound(keys, lower); i < keys.length; i++) {
      const key = keys[i]!;
      if (upper !== undefined && key >= upper) break;
      const v = versionAt(this.versions.get(key)!, at);
      if (!v || v.deleted) continue;
      if (items.length < limit) items.push(toKeyValue(key, v));
      else remaining++;
    }
    return listPage(items, at, remaining);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.write({ op: 'create', key, value });
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.write({ op: 'update', key, value, expected: expectedModRevision });
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.write({ op: 'delete', key, expected: expectedModRevision });
  }

  protected readHistory(prefix: string, from: number, to: number, limit: number): StorageEvent[] {
    const out: StorageEvent[] = [];
    const first = this.log[0]?.revision ?? this.revision + 1;
    for (let i = Math.max(0, from + 1 - first); i < this.log.length && out.length < limit; i++) {
      const event = this.log[i]!;
      if (event.revision > to) break;
      if (event.key.startsWith(prefix)) out.push({ ...event });
    }
    return out;
  }

  protected expiredRevision(cutoffMs: number): number {
    return this.written.newestAtOrBefore(cutoffMs);
  }

  protected removeHistory(revision: number): void {
    for (const [key, versions] of this.versions) {
      const kept = compactVersions(versions, revision);
      if (kept.length) this.versions.set(key, kept);
      else this.versions.delete(key);
    }
    this.keys = this.sortedKeys().filter((k) => this.versions.has(k));
    this.log = this.log.filter((e) => e.revision > revision);
    this.written.forget(revision);
  }

  /** Applied at once, in call order; watchers still hear of it asynchronously. */
  private write(req: WriteRequest): KeyValue {
    this.checkOpen();
    const { kv, event } = planWrite(req, this.live(req.key), this.revision + 1);
    let versions = this.versions.get(kv.key);
    if (!versions) {
      versions = [];
      this.versions.set(kv.key, versions);
      this.newKeys.push(kv.key);
    }
    versions.push({ rev: kv.modRevision, createRev: kv.createRevision, value: kv.value, deleted: req.op === 'delete' });
    this.revision = kv.modRevision;
    this.log.push(event);
    this.written.note(this.now(), this.revision);
    this.hub.publish([{ ...event }]);
    return kv;
  }

  /** `keys` with the new keys merged in. */
  private sortedKeys(): string[] {
    if (this.newKeys.length === 0) return this.keys;
    this.keys = mergeSorted(this.keys, this.newKeys.sort());
    this.newKeys = [];
    return this.keys;
  }

  private live(key: string): KeyValue | undefined {
    const v = this.versions.get(key)?.at(-1);
    return v && !v.deleted ? toKeyValue(key, v) : undefined;
  }
}

function toKeyValue(key: string, v: Version): KeyValue {
  return { key, value: v.value, createRevision: v.createRev, modRevision: v.rev };
}

/** The newest version at or below `revision` (versions are oldest first). */
function versionAt(versions: Version[], revision: number): Version | undefined {
  for (let i = versions.length - 1; i >= 0; i--) if (versions[i]!.rev <= revision) return versions[i];
  return undefined;
}

/** Keep versions above `revision` and the newest one at or below it, unless that one is a deletion. */
function compactVersions(versions: Version[], revision: number): Version[] {
  const newer = versions.filter((v) => v.rev > revision);
  const base = versionAt(versions, revision);
  return base && !base.deleted ? [base, ...newer] : newer;
}

/** Index of the first element >= `key` in a sorted array. */
function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Two sorted arrays as one. */
function mergeSorted(a: string[], b: string[]): string[] {
  const out: string[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}
