/**
 * The storage contract on a real etcd (3.4 or newer), through the etcd3 client.
 *
 * Every write is one etcd transaction guarded by the key's revisions (create: create_revision 0;
 * update and delete: mod_revision as expected), so several Skiff servers can share one etcd.
 * Reads are etcd's linearizable reads. Revisions are etcd's minus one (see keys.ts).
 */
import type { Etcd3, IKeyValue, IRangeRequest, IRangeResponse, ITxnRequest, ITxnResponse } from 'etcd3';
import { CompareResult, CompareTarget } from 'etcd3';
import {
  CompactedError,
  CompactionSchedule,
  checkFromRevision,
  DEFAULT_PROGRESS_INTERVAL_MS,
  futureCompactionError,
  futureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  listPage,
  RevisionMismatchError,
  RevisionTimeline,
  type Storage,
  StorageError,
  StorageUnavailableError,
  StoreLifecycle,
  type StoreOptions,
  type Watch,
  type WatchOptions,
} from 'skiff/sdk/storage';
import { createClient, type EtcdConnectionOptions, waitForEtcd } from './client.js';
import { DEFAULT_MAX_REQUEST_BYTES, isCompacted, isFutureRevision, storageError } from './errors.js';
import { EMPTY_REVISION, fromEtcdRevision, KeySpace, ROOT, toEtcdRevision } from './keys.js';
import { EtcdWatch } from './watch.js';
import { WriteQueue } from './write-queue.js';

export interface EtcdStorageOptions extends EtcdConnectionOptions, StoreOptions {
  /** Replaces the API's leading "/registry" in etcd (kube-apiserver's --etcd-prefix; default "/registry"). */
  prefix?: string;
  /** etcd's --max-request-bytes, reported in ValueTooLargeError (default 1.5 MiB). */
  maxRequestBytes?: number;
  /** Writes sent to etcd at once (default 1: they commit in the order they were issued). */
  maxWritesInFlight?: number;
}

/** Reads without a limit are fetched in pages of this many keys, all at one revision. */
const LIST_PAGE = 1000;

export class EtcdStorage implements Storage {
  readonly backend = 'etcd';
  readonly shared = true;
  private readonly keys: KeySpace;
  private readonly servers: string[];
  private readonly limitBytes: number;
  private readonly writes: WriteQueue;
  private readonly watches = new Set<EtcdWatch>();
  private readonly lifecycle = new StoreLifecycle('the etcd store');
  /** etcd keeps no write times: the revision is noted every compaction interval instead. */
  private readonly timeline = new RevisionTimeline();
  private readonly compaction: CompactionSchedule;
  /** For reads that only want a revision: the prefix itself, which no Skiff key equals. */
  private readonly probe: Buffer;
  /** The newest etcd revision any answer carried: "now" for a watch from 0 on a compacted store. */
  private seenRevision = EMPTY_REVISION;
  /** Reads below this etcd revision are known to fail (compaction only moves forward). */
  private readableFrom = EMPTY_REVISION;
  /** The revision read in flight, and the one that callers arriving meanwhile share. */
  private revisionRead?: Promise<number>;
  private queuedRead?: Promise<number>;

  static async open(options: EtcdStorageOptions): Promise<EtcdStorage> {
    const client = createClient(options);
    let version: string;
    try {
      version = await waitForEtcd(client, options, options.logger);
    } catch (err) {
      client.close();
      throw err;
    }
    const store = new EtcdStorage(client, options);
    try {
      // The compaction clock's first note: the revision at start.
      await store.compaction.run();
    } catch (err) {
      await store.close();
      throw err;
    }
    options.logger?.info({ servers: options.servers, prefix: store.keys.prefix, version }, 'opened etcd store');
    return store;
  }

  private constructor(
    private readonly client: Etcd3,
    private readonly options: EtcdStorageOptions,
  ) {
    this.keys = new KeySpace((options.prefix ?? ROOT).replace(/\/+$/, ''));
    this.probe = Buffer.from(this.keys.prefix || '\0');
    this.servers = options.servers;
    this.limitBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.writes = new WriteQueue(options.maxWritesInFlight ?? 1);
    this.compaction = new CompactionSchedule({
      ...options,
      expiredRevision: async (cutoffMs, nowMs) => {
        this.timeline.note(nowMs, await this.currentRevision());
        return this.timeline.newestAtOrBefore(cutoffMs);
      },
      compact: (revision) => this.compact(revision),
    });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.range({ key: this.keys.toEtcd(key) });
    return res.kvs[0] && this.toKeyValue(res.kvs[0]);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    const range = this.keys.range(prefix, options.after);
    const limit = options.limit && options.limit > 0 ? options.limit : 0;
    const requested = options.revision ? toEtcdRevision(options.revision) : 0;
    const first = await this.rangeAt({ ...range, limit: limit || LIST_PAGE }, requested);
    const at = requested || Number(first.header.revision);
    const items = first.kvs.map((kv) => this.toKeyValue(kv));
    if (limit) return listPage(items, fromEtcdRevision(at), first.more ? Number(first.count) - items.length : 0);
    // No limit: the rest in pages, all read at the first page's revision.
    let page = first;
    while (page.more) {
      const past = Buffer.concat([page.kvs.at(-1)!.key, Buffer.from([0])]);
      page = await this.rangeAt({ key: past, range_end: range.range_end, limit: LIST_PAGE }, at);
      for (const kv of page.kvs) items.push(this.toKeyValue(kv));
    }
    return listPage(items, fromEtcdRevision(at));
  }

  async create(key: string, value: string): Promise<KeyValue> {
    const k = this.keys.toEtcd(key);
    return this.write(async () => {
      const res = await this.txn({
        compare: [{ key: k, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value) } }],
      });
      if (!res.succeeded) throw new KeyExistsError(key);
      const revision = fromEtcdRevision(res.header.revision);
      return { key, value, createRevision: revision, modRevision: revision };
    });
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    const k = this.keys.toEtcd(key);
    return this.write(async () => {
      const res = await this.txn({
        compare: [this.modIs(k, expectedModRevision)],
        success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      });
      if (!res.succeeded) throw this.mismatch(key, expectedModRevision, res.responses[0]?.response_range);
      const prev = res.responses[0]!.response_put.prev_kv;
      return {
        key,
        value,
        createRevision: fromEtcdRevision(prev.create_revision),
        modRevision: fromEtcdRevision(res.header.revision),
      };
    });
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const k = this.keys.toEtcd(key);
    const guard =
      expectedModRevision === undefined
        ? { key: k, target: CompareTarget.Create, result: CompareResult.Greater, create_revision: 0 }
        : this.modIs(k, expectedModRevision);
    return this.write(async () => {
      const res = await this.txn({
        compare: [guard],
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      });
      if (!res.succeeded) throw this.mismatch(key, expectedModRevision, res.responses[0]?.response_range);
      const prev = res.responses[0]!.response_delete_range.prev_kvs[0]!;
      return {
        key,
        value: prev.value.toString(),
        createRevision: fromEtcdRevision(prev.create_revision),
        modRevision: fromEtcdRevision(res.header.revision),
      };
    });
  }

  watch(prefix: string, options: WatchOptions): Watch {
    checkFromRevision(options.fromRevision);
    const refused = this.lifecycle.refusedWatch(options);
    if (refused) return refused;
    const range = this.keys.range(prefix);
    const watch = new EtcdWatch(
      {
        client: this.client,
        keys: this.keys,
        progressIntervalMs: this.options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
        logger: this.options.logger,
        readable: (revision) => this.readable(revision),
        currentEtcdRevision: async () => toEtcdRevision(await this.currentRevision()),
        seenRevision: this.seenRevision,
        compactedRevision: () => this.compactedRevision(),
        ended: (w) => this.watches.delete(w),
      },
      range,
      options,
    );
    this.watches.add(watch);
    return watch;
  }

  /**
   * A linearizable read of etcd's revision. Every GET and LIST asks for it (to wait for the watch
   * cache to catch up), so callers that arrive while a read is out share the next one: it starts
   * after they asked, which is all linearizability needs, and etcd sees one read per round trip.
   */
  currentRevision(): Promise<number> {
    if (this.lifecycle.closed) return Promise.reject(this.lifecycle.closedError());
    if (this.queuedRead) return this.queuedRead;
    if (!this.revisionRead) return this.readRevision();
    const queued = this.revisionRead
      .catch(() => undefined)
      .then(() => {
        this.queuedRead = undefined;
        return this.readRevision();
      });
    this.queuedRead = queued;
    return queued;
  }

  private readRevision(): Promise<number> {
    const read = this.range({ key: this.probe, count_only: true })
      .then((res) => fromEtcdRevision(res.header.revision))
      .finally(() => {
        if (this.revisionRead === read) this.revisionRead = undefined;
      });
    this.revisionRead = read;
    return read;
  }

  /**
   * etcd does not say how far it was compacted, but a read below that fails: find the oldest
   * readable revision, starting from the one found last time (usually one read).
   */
  async compactedRevision(): Promise<number> {
    this.checkOpen();
    if (!(await this.readable(this.readableFrom))) {
      let lo = this.readableFrom; // unreadable
      let hi = toEtcdRevision(await this.currentRevision()); // the newest revision is always readable
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (await this.readable(mid)) hi = mid;
        else lo = mid;
      }
      this.readableFrom = hi;
    }
    return fromEtcdRevision(this.readableFrom);
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision <= 0) return;
    try {
      this.seen(await this.client.kv.compact({ revision: toEtcdRevision(revision) }));
      this.readableFrom = Math.max(this.readableFrom, toEtcdRevision(revision));
      this.timeline.forget(revision);
    } catch (err) {
      // At or below etcd's compacted revision: nothing to do, as the contract says.
      if (isCompacted(err)) return;
      if (isFutureRevision(err)) throw futureCompactionError(revision, await this.currentRevision());
      throw this.fail(err);
    }
  }

  /** Compacts what became history longer than the window ago; returns the compacted revision. */
  compactExpired(): Promise<number> {
    return this.compaction.run().then(() => this.compactedRevision());
  }

  close(): Promise<void> {
    return this.lifecycle.close(async () => {
      this.compaction.stop();
      await this.writes.drain();
      for (const w of [...this.watches]) w.fail(new StorageUnavailableError(this.lifecycle.closedReason));
      this.client.close();
    });
  }

  private write<T>(op: () => Promise<T>): Promise<T> {
    if (this.lifecycle.closed) return Promise.reject(this.lifecycle.closedError());
    return this.writes.run(() => op().catch((err: unknown) => Promise.reject(this.fail(err))));
  }

  private modIs(key: Buffer, expected: number) {
    return { key, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: toEtcdRevision(expected) };
  }

  /** Why a guarded write failed, from the key as the failed transaction read it. */
  private mismatch(key: string, expected: number | undefined, current: IRangeResponse | undefined): StorageError {
    const kv = current?.kvs[0];
    if (!kv) return new KeyNotFoundError(key);
    return new RevisionMismatchError(key, expected ?? 0, fromEtcdRevision(kv.mod_revision));
  }

  private async txn(req: ITxnRequest): Promise<ITxnResponse> {
    return this.seen(await this.client.kv.txn(req));
  }

  private async range(req: IRangeRequest): Promise<IRangeResponse> {
    this.checkOpen();
    try {
      return this.seen(await this.client.kv.range(req));
    } catch (err) {
      throw this.fail(err);
    }
  }

  private seen<T extends { header: { revision: string } }>(res: T): T {
    this.seenRevision = Math.max(this.seenRevision, Number(res.header.revision));
    return res;
  }

  /** A range read as of an etcd revision (0: the newest), with the contract's errors. */
  private async rangeAt(req: IRangeRequest, revision: number): Promise<IRangeResponse> {
    this.checkOpen();
    try {
      return this.seen(await this.client.kv.range({ ...req, revision }));
    } catch (err) {
      const requested = fromEtcdRevision(revision);
      if (isCompacted(err)) throw new CompactedError(requested, await this.compactedRevision());
      if (isFutureRevision(err)) throw futureRevisionError(requested, await this.currentRevision());
      throw this.fail(err);
    }
  }

  /** Whether a read at this etcd revision works: false once it was compacted away. */
  private async readable(revision: number): Promise<boolean> {
    try {
      await this.client.kv.range({ key: this.probe, revision, count_only: true });
      return true;
    } catch (err) {
      if (isCompacted(err)) return false;
      if (isFutureRevision(err)) return true;
      throw this.fail(err);
    }
  }

  private toKeyValue(kv: IKeyValue): KeyValue {
    return {
      key: this.keys.fromEtcd(kv.key),
      value: kv.value.toString(),
      createRevision: fromEtcdRevision(kv.create_revision),
      modRevision: fromEtcdRevision(kv.mod_revision),
    };
  }

  private fail(err: unknown): Error {
    if (this.lifecycle.closed && !(err instanceof StorageError)) return this.lifecycle.closedError();
    return storageError(err, this.servers, this.limitBytes);
  }

  private checkOpen(): void {
    this.lifecycle.checkOpen();
  }
}
