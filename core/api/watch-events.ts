/**
 * Watch events as the watch cache hands them out: each encoded at most once however many watchers
 * write it, and each change seen through a watcher's filter (upstream's cache_watcher conversion).
 */
import { statusJson } from '../errors.js';
import type { KubeObject } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface CacheEvent {
  type: WatchEventType;
  object: KubeObject;
  encoded(): Buffer;
}

/** An event, encoded at most once however many watchers write it (a class: no closure per event). */
class SharedEvent implements CacheEvent {
  private buf: Buffer | undefined;

  constructor(
    readonly type: WatchEventType,
    readonly object: KubeObject,
  ) {}

  encoded(): Buffer {
    if (this.buf) return this.buf;
    // An ERROR's object is a Status, written by the one Status encoder (Go's escaping, its key order).
    const object = this.type === 'ERROR' ? statusJson(this.object) : JSON.stringify(this.object);
    this.buf = Buffer.from(`{"type":"${this.type}","object":${object}}\n`);
    return this.buf;
  }
}

export function makeEvent(type: WatchEventType, object: KubeObject): CacheEvent {
  return new SharedEvent(type, object);
}

/** One change as the cache keeps it: the object before and after, and lazily built views per type. */
export interface Change {
  key: string;
  namespace: string;
  revision: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  prev?: KubeObject;
  views: Partial<Record<WatchEventType, CacheEvent>>;
}

export function withRevision(obj: KubeObject, revision: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}

/** The event a watcher gets for a change as `type`, built once per change and type. */
export function viewOf(change: Change, type: WatchEventType): CacheEvent {
  const cached = change.views[type];
  if (cached) return cached;
  // A change that leaves a watcher's selection is a DELETED of the previous content at the new revision.
  const object =
    type === 'DELETED' && change.type !== 'DELETED' ? withRevision(change.prev!, change.revision) : change.object;
  const view = makeEvent(type, object);
  change.views[type] = view;
  return view;
}

/** What a watcher sees of a change, after its filter: upstream's cache_watcher conversion. */
export function typeFor(change: Change, filter?: (o: KubeObject) => boolean): WatchEventType | undefined {
  if (!filter) return change.type;
  const cur = change.type !== 'DELETED' && filter(change.object);
  const old = change.prev !== undefined && filter(change.prev);
  if (cur && old) return 'MODIFIED';
  if (cur) return 'ADDED';
  if (old) return 'DELETED';
  return undefined;
}

/** A Status as the object of an ERROR event. */
export function errorEvent(status: { toStatus(): unknown }): CacheEvent {
  return makeEvent('ERROR', status.toStatus() as unknown as KubeObject);
}
