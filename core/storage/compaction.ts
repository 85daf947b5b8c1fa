/**
 * Time-based compaction, the same for every backend: history younger than a window (default five
 * minutes, as kube-apiserver compacts etcd) always stays; every interval the store compacts up to
 * the newest revision written at least a window ago. A backend says how it finds that revision
 * (storage-sqlite keeps a table of revisions per second; a store that keeps no write times notes
 * revisions in a RevisionTimeline) and how it compacts.
 */
import type { Logger } from 'pino';

export const DEFAULT_COMPACTION_WINDOW_SECONDS = 300;
export const DEFAULT_COMPACTION_INTERVAL_SECONDS = 60;

/** What every backend lets its plugin (and tests) tune; a backend's own options extend it. */
export interface StoreOptions {
  /** History younger than this is always kept; older history is compacted by the timer (default 300). */
  compactionWindowSeconds?: number;
  /** How often the timer compacts (default 60). */
  compactionIntervalSeconds?: number;
  /** How often watchers get onProgress (default 5000). */
  progressIntervalMs?: number;
  /** The clock, for tests of time-based compaction. */
  now?: () => number;
  logger?: Logger;
}

export interface CompactionScheduleOptions extends StoreOptions {
  /** The newest revision written at or before `cutoffMs` (0: none); `nowMs` is the clock's reading. */
  expiredRevision(cutoffMs: number, nowMs: number): number | Promise<number>;
  /** Storage.compact: forgets history up to and including `revision`. */
  compact(revision: number): Promise<void>;
}

export class CompactionSchedule {
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly windowMs: number;
  /** The newest revision this schedule compacted to: the same one again is skipped. */
  private compactedTo = 0;

  constructor(private readonly options: CompactionScheduleOptions) {
    this.now = options.now ?? Date.now;
    this.windowMs = (options.compactionWindowSeconds ?? DEFAULT_COMPACTION_WINDOW_SECONDS) * 1000;
    const intervalMs = (options.compactionIntervalSeconds ?? DEFAULT_COMPACTION_INTERVAL_SECONDS) * 1000;
    this.timer = setInterval(
      () =>
        this.run().catch((err: unknown) =>
          options.logger?.error({ err }, 'automatic compaction failed; history keeps growing until it succeeds'),
        ),
      intervalMs,
    );
    this.timer.unref();
  }

  /** Compacts everything written longer ago than the window (what the timer does). */
  async run(): Promise<void> {
    const now = this.now();
    const target = await this.options.expiredRevision(now - this.windowMs, now);
    if (target <= this.compactedTo) return;
    await this.options.compact(target);
    this.compactedTo = target;
    this.options.logger?.debug({ revision: target }, 'compacted history older than the compaction window');
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * When revisions were written, for stores that keep no write times: note (time, revision) pairs
 * (on each write, or each interval), ask for the newest revision noted at or before a time, and
 * forget what compaction removed. Notes in the same millisecond share one entry.
 */
export class RevisionTimeline {
  private notes: { at: number; revision: number }[] = [];

  note(at: number, revision: number): void {
    const last = this.notes.at(-1);
    if (last?.at === at) last.revision = revision;
    else this.notes.push({ at, revision });
  }

  /** The newest revision noted at or before `cutoff` (0: none). */
  newestAtOrBefore(cutoff: number): number {
    let revision = 0;
    for (const n of this.notes) {
      if (n.at > cutoff) break;
      revision = n.revision;
    }
    return revision;
  }

  /** Forgets the notes of revisions up to and including `revision` (compacted away). */
  forget(revision: number): void {
    const keep = this.notes.findIndex((n) => n.revision > revision);
    this.notes = keep < 0 ? [] : this.notes.slice(keep);
  }
}
