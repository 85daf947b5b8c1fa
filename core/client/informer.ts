/**
 * An informer: list, then watch from the list's resourceVersion, keeping a local copy of every
 * object; when the watch ends or expires (410), list again and report what changed meanwhile.
 * Controllers react to its events and read its copy instead of asking the server each time.
 *
 * Every object an informer holds or hands to its handler is deep-frozen: read it, never change it
 * (copy what you mean to write, e.g. `{ ...obj, status }`). That lets an in-process informer share
 * the watch cache's objects instead of copying each event, and a mutation throws instead of
 * silently changing what other controllers see.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/types.js';
import { deepFreeze } from './deep-freeze.js';
import type { ApiClient, ResourceRef, WatchEvent, WatchHandle } from './types.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type ChangeHandler = (type: ChangeType, obj: KubeObject) => void;

const RELIST_DELAY_MS = 1_000;

/** A client that can hand watch events with the server's own objects, frozen (the in-process client). */
interface SharedObjectWatch {
  watchFrozen?(
    r: ResourceRef,
    namespace: string,
    options: { resourceVersion?: string },
    onEvent: (e: WatchEvent) => void,
  ): WatchHandle;
}

export const objectKey = (obj: KubeObject) => `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;

export class Informer {
  /** namespace/name → the newest copy seen. */
  readonly items = new Map<string, KubeObject>();
  private synced = false;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly client: ApiClient,
    private readonly ref: ResourceRef,
    private readonly logger: Logger,
    private readonly namespace = '',
  ) {}

  /** Resolves once the first list has been taken in. */
  hasSynced(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((res) => this.waiters.push(res));
  }

  /** Runs until `signal` aborts, calling `onChange` for every change it learns of, in order. */
  async run(signal: AbortSignal, onChange: ChangeHandler): Promise<void> {
    let failing = false;
    while (!signal.aborted) {
      try {
        const revision = await this.relist(onChange);
        failing = false;
        await this.watch(signal, revision, onChange);
      } catch (err) {
        if (signal.aborted) return;
        // Once per outage at warn; the retries every second after that only at debug.
        const log = failing ? this.logger.debug.bind(this.logger) : this.logger.warn.bind(this.logger);
        log({ err, resource: this.ref.resource }, 'informer lost its list or watch; listing again');
        failing = true;
      }
      if (!signal.aborted) await delay(RELIST_DELAY_MS, signal);
    }
  }

  private async relist(onChange: ChangeHandler): Promise<string> {
    const list = await this.client.list(this.ref, this.namespace);
    const seen = new Set<string>();
    for (const obj of list.items.map(deepFreeze)) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.items.get(key);
      this.items.set(key, obj);
      if (!old) onChange('ADDED', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) onChange('MODIFIED', obj);
    }
    for (const [key, old] of this.items) {
      if (seen.has(key)) continue;
      this.items.delete(key);
      onChange('DELETED', old);
    }
    if (!this.synced) {
      this.synced = true;
      for (const w of this.waiters.splice(0)) w();
    }
    return list.metadata.resourceVersion;
  }

  private async watch(signal: AbortSignal, resourceVersion: string, onChange: ChangeHandler): Promise<void> {
    let expired = false;
    const shared = this.client as ApiClient & SharedObjectWatch;
    const onEvent = (e: WatchEvent) => {
      if (e.type === 'ERROR') {
        expired = true;
        handle.stop();
        return;
      }
      if (e.type === 'BOOKMARK') return;
      const obj = deepFreeze(e.object);
      const key = objectKey(obj);
      if (e.type === 'DELETED') this.items.delete(key);
      else this.items.set(key, obj);
      onChange(e.type, obj);
    };
    const handle = shared.watchFrozen
      ? shared.watchFrozen(this.ref, this.namespace, { resourceVersion }, onEvent)
      : this.client.watch(this.ref, this.namespace, { resourceVersion }, onEvent);
    const stop = () => handle.stop();
    signal.addEventListener('abort', stop, { once: true });
    // A stop that came while the list was in flight fired no event: end the watch it started.
    if (signal.aborted) stop();
    await handle.done;
    signal.removeEventListener('abort', stop);
    if (expired) this.logger.debug({ resource: this.ref.resource }, 'watch expired; listing again');
  }
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A set of keys to work on, each processed by one worker at a time; a key added while it is being
 * processed is processed again after. Upstream's workqueue, without rate limiting.
 */
export class WorkQueue {
  private readonly dirty = new Set<string>();
  private readonly active = new Set<string>();
  private wake?: () => void;

  add(key: string): void {
    this.dirty.add(key);
    this.wake?.();
  }

  /** Calls `work` for each key until `signal` aborts. A failing key is logged and retried later. */
  async run(signal: AbortSignal, work: (key: string) => Promise<void>, logger: Logger, retryMs = 1_000): Promise<void> {
    const wakeOnAbort = () => this.wake?.();
    signal.addEventListener('abort', wakeOnAbort, { once: true });
    while (!signal.aborted) {
      const key = [...this.dirty].find((k) => !this.active.has(k));
      if (key === undefined) {
        await new Promise<void>((res) => {
          this.wake = res;
        });
        this.wake = undefined;
        continue;
      }
      this.dirty.delete(key);
      this.active.add(key);
      try {
        await work(key);
      } catch (err) {
        if (signal.aborted) break;
        logger.warn({ err, key }, 'work item failed; retrying later');
        setTimeout(() => this.add(key), retryMs).unref();
      } finally {
        this.active.delete(key);
      }
    }
    signal.removeEventListener('abort', wakeOnAbort);
  }
}
