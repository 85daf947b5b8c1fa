/**
 * Where Skiff's keys live in etcd, and how its revisions relate to etcd's.
 *
 * The API layer names every key under "/registry/..." (the storage contract's key space). In etcd the
 * configured prefix takes the place of that "/registry", as kube-apiserver's --etcd-prefix does:
 * with the default prefix "/registry" the etcd keys are exactly the API's keys
 * ("/registry/pods/default/web"); with prefix "/skiff-a" the same pod is "/skiff-a/pods/default/web".
 * Key order and prefix relations are kept, so ranges map to ranges.
 */
import { StorageError } from 'skiff/sdk/storage';

/** The root of the storage contract's key space. */
export const ROOT = '/registry';

/**
 * etcd's revision of an empty store is 1 (its first write is 2); the contract's is 0. Skiff's
 * revisions (and resourceVersions) are etcd's minus this, the same for every server sharing the etcd.
 */
export const EMPTY_REVISION = 1;

export const toEtcdRevision = (revision: number) => revision + EMPTY_REVISION;
export const fromEtcdRevision = (revision: number | string) => Number(revision) - EMPTY_REVISION;

export interface EtcdRange {
  key: Buffer;
  range_end: Buffer;
}

export class KeySpace {
  /** `prefix` without a trailing slash ("" puts the keys at etcd's root: "/pods/..."). */
  constructor(readonly prefix: string) {}

  toEtcd(key: string): Buffer {
    if (!key.startsWith(`${ROOT}/`)) {
      throw new StorageError(`storage-etcd stores only keys under ${ROOT}/, not ${JSON.stringify(key)}`);
    }
    return Buffer.from(this.prefix + key.slice(ROOT.length));
  }

  fromEtcd(key: Buffer): string {
    return ROOT + key.toString('utf8', Buffer.byteLength(this.prefix));
  }

  /** The etcd range of the keys that start with `prefix` and sort after `after` (when given). */
  range(prefix: string, after?: string): EtcdRange {
    let key: Buffer;
    if (prefix.startsWith(`${ROOT}/`)) key = this.toEtcd(prefix);
    else if (`${ROOT}/`.startsWith(prefix)) key = Buffer.from(`${this.prefix}/`);
    else throw new StorageError(`storage-etcd stores only keys under ${ROOT}/; cannot range over ${prefix}`);
    const range_end = prefixEnd(key);
    if (after?.startsWith(`${ROOT}/`)) {
      // after + NUL is the smallest key greater than `after`.
      const past = Buffer.concat([this.toEtcd(after), Buffer.from([0])]);
      if (Buffer.compare(past, key) > 0) key = past;
    }
    return { key, range_end };
  }
}

/** The first key after every key that starts with `key`, in etcd's byte order. */
export function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  // Only 0xff bytes: etcd reads "\0" as "to the end of the key space".
  return Buffer.from([0]);
}
