/**
 * One Storage.watch as one etcd watch on its own gRPC stream, with prevKv.
 *
 * - Connection loss: the watch resumes by itself from the newest revision it delivered (etcd replays
 *   what was missed), so a short etcd restart neither breaks nor duplicates the stream. Only history
 *   compacted meanwhile ends it, with CompactedError.
 * - Progress: etcd sends its own progress notifications rarely (every 10 minutes by default), so
 *   the watch also sends progress requests, every progressIntervalMs and on requestProgress().
 *   etcd before 3.4.24 answers those out of band (etcd issue 15220): the answer can overtake events
 *   still queued for the watch, or arrive while the watch is still replaying history. So an answer is
 *   reported only once a second request, sent after it arrived, was answered too (the events queued
 *   ahead of the first answer have gone out by then), and only once the watch has caught up: it
 *   started after the current revision, or etcd sent it its own progress notification, or the time
 *   etcd takes to replay its history has passed.
 */
import type { Etcd3, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import type { Logger } from 'pino';
import {
  CompactedError,
  notifyWatchError,
  type StorageEvent,
  StorageUnavailableError,
  type WatchOptions,
} from 'skiff/sdk/storage';
import { type EtcdRange, fromEtcdRevision, type KeySpace } from './keys.js';

export interface WatchSource {
  client: Etcd3;
  keys: KeySpace;
  progressIntervalMs: number;
  logger?: Logger;
  /** Whether a read at this etcd revision still works (false: compacted away). */
  readable(etcdRevision: number): Promise<boolean>;
  currentEtcdRevision(): Promise<number>;
  /** The newest etcd revision the store had seen when the watch was asked for. */
  seenRevision: number;
  /** Skiff's compacted revision, for CompactedError. */
  compactedRevision(): Promise<number>;
  ended(watch: EtcdWatch): void;
}

type Stream = Awaited<ReturnType<Etcd3['watchClient']['watch']>>;

const MAX_BACKOFF_MS = 2000;
const ROUND_TIMEOUT_MS = 2000;

export class EtcdWatch {
  private stream?: Stream;
  /** Every event up to this etcd revision was delivered; a resumed watch starts after it. */
  private cursor: number;
  /** Whether the next connect is the first (fromRevision 0 means "from now" only then). */
  private first = true;
  private caughtUp = false;
  private catchUpBy = Number.POSITIVE_INFINITY;
  private round?: { sentAt: number; candidate?: number };
  private roundWanted = false;
  private done = false;
  /** Set while a failing watch asks etcd for its compacted revision: nothing more is delivered. */
  private halted = false;
  private backoffMs = 100;
  private lostSince?: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly source: WatchSource,
    private readonly range: EtcdRange,
    private readonly options: WatchOptions,
  ) {
    // fromRevision is Skiff's: events after it are etcd's revisions from fromRevision + 2 on.
    this.cursor = options.fromRevision + 1;
    this.timer = setInterval(() => this.requestProgress(), source.progressIntervalMs);
    this.timer.unref();
    void this.connect();
  }

  cancel(): void {
    this.finish();
  }

  requestProgress(): void {
    if (this.stopped || !this.options.onProgress) return;
    if (!this.stream) {
      this.roundWanted = true; // asked for once the watch is (re)created
      return;
    }
    // A round whose answer never came (newer etcd stays silent while a watch replays) is dropped.
    if (this.round && Date.now() - this.round.sentAt < ROUND_TIMEOUT_MS) {
      this.roundWanted = true;
      return;
    }
    this.round = { sentAt: Date.now() };
    this.send({ progress_request: {} });
  }

  /** Ends the watch with onError (at most once; nothing is delivered after it). */
  fail(err: Error): void {
    if (this.done) return;
    this.finish();
    notifyWatchError(this.options, err);
  }

  private get stopped(): boolean {
    return this.done || this.halted;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.timer);
    this.stream?.cancel();
    this.stream = undefined;
    this.source.ended(this);
  }

  private async connect(): Promise<void> {
    try {
      if (!(await this.source.readable(this.cursor))) {
        if (!this.first || this.options.fromRevision !== 0) return this.failCompacted(fromEtcdRevision(this.cursor));
        // From the beginning, but the beginning is compacted away: from now (when watch() was
        // called), as in etcd; from the current revision if even that was compacted meanwhile.
        this.cursor = this.source.seenRevision;
        if (!(await this.source.readable(this.cursor))) this.cursor = await this.source.currentEtcdRevision();
      }
      if (this.stopped) return;
      const stream = await this.source.client.watchClient.watch();
      if (this.stopped) return stream.cancel();
      this.stream = stream;
      stream.on('data', (res) => stream === this.stream && this.receive(res));
      stream.on('error', (err) => stream === this.stream && this.lost(err));
      stream.on('end', () => stream === this.stream && this.lost(new Error('the watch stream ended')));
      this.send({
        create_request: { ...this.range, start_revision: this.cursor + 1, prev_kv: true, progress_notify: true },
      });
      this.first = false;
    } catch (err) {
      this.lost(err as Error);
    }
  }

  /** The stream (or connecting) failed: try again with backoff while the watch lives. */
  private lost(err: Error): void {
    if (this.stopped) return;
    this.stream?.cancel();
    this.stream = undefined;
    this.round = undefined;
    this.caughtUp = false;
    this.catchUpBy = Number.POSITIVE_INFINITY;
    // Once per outage, not once per retry.
    if (this.lostSince === undefined) {
      this.lostSince = Date.now();
      this.source.logger?.warn(
        { err: err.message, revision: fromEtcdRevision(this.cursor) },
        'etcd watch interrupted; resuming when etcd answers',
      );
    }
    setTimeout(() => void this.connect(), this.backoffMs).unref();
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
  }

  private send(req: IWatchRequest): void {
    try {
      this.stream?.write(req);
    } catch (err) {
      this.lost(err as Error);
    }
  }

  private receive(res: IWatchResponse): void {
    if (this.stopped) return;
    const revision = Number(res.header.revision);
    if (res.canceled) this.cancelled(res);
    else if (res.created) this.created(revision);
    else if (res.events.length) this.deliver(res.events);
    else if (res.watch_id === '-1') this.progressAnswer(revision);
    else {
      // etcd's own progress notification: in order with the events, sent only to caught-up watches.
      this.caughtUp = true;
      this.progress(revision);
    }
  }

  private created(revision: number): void {
    this.backoffMs = 100;
    if (this.lostSince !== undefined) {
      this.source.logger?.info(
        { revision: fromEtcdRevision(this.cursor), afterMs: Date.now() - this.lostSince },
        'etcd watch resumed',
      );
      this.lostSince = undefined;
    }
    // A watch that starts after the current revision is live at once; one that starts earlier
    // replays first, in passes of at most 1000 revisions every ~100 ms inside etcd.
    this.caughtUp = this.cursor >= revision;
    this.catchUpBy = Date.now() + 300 + 100 * Math.ceil((revision - this.cursor) / 1000);
    if (this.roundWanted) {
      this.roundWanted = false;
      this.requestProgress();
    }
  }

  private cancelled(res: IWatchResponse): void {
    const compacted = Number(res.compact_revision);
    this.fail(
      compacted > 0
        ? new CompactedError(fromEtcdRevision(this.cursor), fromEtcdRevision(compacted))
        : new StorageUnavailableError(`etcd cancelled the watch: ${res.cancel_reason || 'no reason given'}`),
    );
  }

  private deliver(events: IEvent[]): void {
    for (const e of events) {
      if (this.stopped) return;
      const event = this.toEvent(e);
      if (!event) return;
      this.cursor = Math.max(this.cursor, Number(e.kv.mod_revision));
      try {
        this.options.onEvent(event);
      } catch (err) {
        this.fail(err as Error);
        return;
      }
    }
  }

  private toEvent(e: IEvent): StorageEvent | undefined {
    const key = this.source.keys.fromEtcd(e.kv.key);
    const revision = fromEtcdRevision(e.kv.mod_revision);
    if (e.type === 'Put' && e.kv.version === '1') {
      return { type: 'create', key, value: e.kv.value.toString(), revision, createRevision: revision };
    }
    const prev = e.prev_kv;
    if (!prev) {
      // etcd reads the previous value at revision - 1; that history is compacted away.
      void this.failCompacted(revision - 1);
      return undefined;
    }
    const prevValue = prev.value.toString();
    const createRevision = fromEtcdRevision(e.type === 'Put' ? e.kv.create_revision : prev.create_revision);
    const value = e.type === 'Put' ? e.kv.value.toString() : prevValue;
    return { type: e.type === 'Put' ? 'update' : 'delete', key, value, prevValue, revision, createRevision };
  }

  /** An answer to our progress request: report the previous answer once this one confirms it. */
  private progressAnswer(revision: number): void {
    const round = this.round;
    if (!round) return;
    if (!this.caughtUp && Date.now() >= this.catchUpBy) this.caughtUp = true;
    if (!this.caughtUp) {
      // Still replaying: ask again shortly instead of reporting a revision not yet delivered.
      this.round = undefined;
      setTimeout(() => this.requestProgress(), 50).unref();
      return;
    }
    if (round.candidate === undefined) {
      round.candidate = revision;
      round.sentAt = Date.now();
      this.send({ progress_request: {} });
      return;
    }
    this.round = undefined;
    this.progress(round.candidate);
    if (this.roundWanted) {
      this.roundWanted = false;
      this.requestProgress();
    }
  }

  private progress(etcdRevision: number): void {
    if (this.stopped || etcdRevision < this.cursor) return;
    this.cursor = etcdRevision;
    try {
      this.options.onProgress?.(fromEtcdRevision(etcdRevision));
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private async failCompacted(requested: number): Promise<void> {
    if (this.stopped) return;
    this.halted = true;
    this.stream?.cancel();
    this.stream = undefined;
    const compacted = await this.source.compactedRevision().catch(() => requested + 1);
    this.fail(new CompactedError(requested, compacted));
  }
}
