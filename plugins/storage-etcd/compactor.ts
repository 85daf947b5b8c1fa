/**
 * Time-based compaction, on the same window as storage-sqlite. etcd keeps no write times, so every
 * interval the current revision is noted with the time; history is compacted up to the newest
 * revision noted at least `window` ago, so anything younger than the window always stays.
 */
import type { Logger } from 'pino';

export interface CompactorOptions {
  windowSeconds: number;
  intervalSeconds: number;
  currentRevision(): Promise<number>;
  compact(revision: number): Promise<void>;
  now?: () => number;
  logger?: Logger;
}

export class Compactor {
  private readonly samples: { at: number; revision: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: CompactorOptions) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(
      () =>
        this.run().catch((err: unknown) =>
          options.logger?.error({ err }, 'automatic compaction failed; history keeps growing until it succeeds'),
        ),
      options.intervalSeconds * 1000,
    );
    this.timer.unref();
  }

  /** Notes the current revision, then compacts to the newest one noted at least a window ago. */
  async run(): Promise<void> {
    const now = this.now();
    this.samples.push({ at: now, revision: await this.options.currentRevision() });
    const cutoff = now - this.options.windowSeconds * 1000;
    let target = 0;
    while (this.samples.length && this.samples[0]!.at <= cutoff) target = this.samples.shift()!.revision;
    if (target > 0) {
      await this.options.compact(target);
      this.options.logger?.debug({ revision: target }, 'compacted history older than the compaction window');
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
