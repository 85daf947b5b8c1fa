/**
 * An in-memory Storage with the same semantics as storage-sqlite (MVCC history, compare-and-swap,
 * replaying watches, compaction) and no persistence. Meant for tests; it is also the reference the
 * conformance suite is checked against.
 */
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  RevisionMismatchError,
  type Storage,
  StorageError,
  type StorageEvent,
  StorageUnavailableError,
  type WatchOptions,
} from '../../core/storage/types.js';
import { failedWatch, type HubWatch, WatchHub } from '../../core/storage/watch-hub.js';

export interface MemoryStorageOptions {
  /** History older than this is compacted by the timer (default 300). */
  compactionWindowSeconds?: number;
  /** How often the timer looks for expired history (default 60). */
  compactionIntervalSeconds?: number;
  /** How often watchers get onProgress (default 5000). */
  progressIntervalMs?: number;
  /** The clock, for tests of time-based compaction. */
  now?: () => number;
}

interface Version {
  rev: number;
  createRev: number;
  value: string;
  deleted: boolean;
}

interface LogEntry {
  event: StorageEvent;
  at: number;
}

export class MemoryStorage implements Storage {
  readonly backend = 'memory';
  /** Every key that has a version in history, sorted, for range reads. */
  private keys: string[] = [];
  private readonly versions = new Map<string, Version[]>();
  /** One entry per revision above `compactedRev`, oldest first. */
  private log: LogEntry[] = [];
  private revision = 0;
  private compactedRev = 0;
  private closed = false;
  private readonly hub: WatchHub;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly windowMs: number;

  constructor(options: MemoryStorageOptions = {}) {
    this.now = options.now ?? Date.now;
    this.windowMs = (options.compactionWindowSeconds ?? 300) * 1000;
    this.hub = new WatchHub(
      { readHistory: (p, f, t, l) => this.readHistory(p, f, t, l), compacted: () => this.compactedRev },
      0,
      options.progressIntervalMs,
    );
    this.timer = setInterval(() => void this.compactExpired(), (options.compactionIntervalSeconds ?? 60) * 1000);
    this.timer.unref();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    const v = this.latest(key);
    return v && !v.deleted ? toKeyValue(key, v) : undefined;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    const at = this.readRevision(options.revision);
    const limit = options.limit || Number.POSITIVE_INFINITY;
    const items: KeyValue[] = [];
    let remaining = 0;
    const after = options.after ?? '';
    for (let i = lowerBound(this.keys, prefix); i < this.keys.length; i++) {
      const key = this.keys[i]!;
      if (!key.startsWith(prefix)) break;
      if (key <= after) continue;
      const v = versionAt(this.versions.get(key)!, at);
      if (!v || v.deleted) continue;
      if (items.length < limit) items.push(toKeyValue(key, v));
      else remaining++;
    }
    return remaining ? { items, revision: at, more: true, remaining } : { items, revision: at, more: false };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.checkOpen();
    const cur = this.latest(key);
    if (cur && !cur.deleted) throw new KeyExistsError(key);
    const rev = this.revision + 1;
    return this.write(key, { rev, createRev: rev, value, deleted: false }, 'create');
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.checkOpen();
    const cur = this.current(key, expectedModRevision);
    return this.write(key, { rev: this.revision + 1, createRev: cur.createRev, value, deleted: false }, 'update', cur);
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.checkOpen();
    const cur = this.current(key, expectedModRevision);
    const tombstone = { rev: this.revision + 1, createRev: cur.createRev, value: cur.value, deleted: true };
    return this.write(key, tombstone, 'delete', cur);
  }

  watch(prefix: string, options: WatchOptions): HubWatch {
    if (this.closed) return failedWatch(options, new StorageUnavailableError('the memory store is closed'));
    return this.hub.watch(prefix, options);
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.revision;
  }

  async compactedRevision(): Promise<number> {
    this.checkOpen();
    return this.compactedRev;
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision > this.revision) {
      throw new StorageError(`cannot compact to revision ${revision}: the current revision is ${this.revision}`);
    }
    if (revision <= this.compactedRev) return;
    this.compactedRev = revision;
    for (const [key, versions] of this.versions) {
      const kept = compactVersions(versions, revision);
      if (kept.length) this.versions.set(key, kept);
      else this.versions.delete(key);
    }
    this.keys = this.keys.filter((k) => this.versions.has(k));
    this.log = this.log.filter((e) => e.event.revision > revision);
  }

  /** Compact everything written longer ago than the compaction window; returns the compacted revision. */
  async compactExpired(): Promise<number> {
    if (this.closed) return this.compactedRev;
    const cutoff = this.now() - this.windowMs;
    let target = this.compactedRev;
    for (const entry of this.log) {
      if (entry.at > cutoff) break;
      target = entry.event.revision;
    }
    await this.compact(target);
    return this.compactedRev;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.hub.close('the memory store was closed');
  }

  private write(key: string, next: Version, type: StorageEvent['type'], prev?: Version): KeyValue {
    let versions = this.versions.get(key);
    if (!versions) {
      versions = [];
      this.versions.set(key, versions);
      this.keys.splice(lowerBound(this.keys, key), 0, key);
    }
    versions.push(next);
    this.revision = next.rev;
    const event: StorageEvent = { type, key, value: next.value, revision: next.rev, createRevision: next.createRev };
    if (prev) event.prevValue = prev.value;
    this.log.push({ event, at: this.now() });
    this.hub.publish([{ ...event }]);
    return toKeyValue(key, next);
  }

  /** The live version of `key`, checked against the expected mod revision when one is given. */
  private current(key: string, expected: number | undefined): Version {
    const cur = this.latest(key);
    if (!cur || cur.deleted) throw new KeyNotFoundError(key);
    if (expected !== undefined && cur.rev !== expected) throw new RevisionMismatchError(key, expected, cur.rev);
    return cur;
  }

  private latest(key: string): Version | undefined {
    return this.versions.get(key)?.at(-1);
  }

  private readRevision(revision: number | undefined): number {
    if (!revision) return this.revision;
    if (revision < this.compactedRev) throw new CompactedError(revision, this.compactedRev);
    if (revision > this.revision) {
      throw new StorageError(`revision ${revision} is newer than the current revision ${this.revision}`);
    }
    return revision;
  }

  private readHistory(prefix: string, from: number, to: number, limit: number): StorageEvent[] {
    const out: StorageEvent[] = [];
    const first = this.log[0]?.event.revision ?? this.revision + 1;
    for (let i = Math.max(0, from + 1 - first); i < this.log.length && out.length < limit; i++) {
      const { event } = this.log[i]!;
      if (event.revision > to) break;
      if (event.key.startsWith(prefix)) out.push({ ...event });
    }
    return out;
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageUnavailableError('the memory store is closed');
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
