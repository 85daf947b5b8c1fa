/**
 * Key ranges and list pages, for backends that read a sorted key space (an ordered index, a SQL
 * table): a prefix plus an `after` cursor become [lower, upper) bounds, and a page becomes a
 * ListResult whose `remaining` is present exactly when it is cut short.
 */
import type { KeyValue, ListResult } from './types.js';

/** Keys `>= lower` and `< upper`; no `upper`: to the end of the key space (the empty prefix). */
export interface KeyRange {
  lower: string;
  upper?: string;
}

/** The first key after every key with this prefix, for range reads. */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** The keys that start with `prefix` and sort after `after` (ListOptions.after) when it is given. */
export function keyRange(prefix: string, after?: string): KeyRange {
  // after + NUL is the smallest key greater than `after`.
  const past = after ? `${after}\0` : '';
  const lower = past > prefix ? past : prefix;
  return prefix ? { lower, upper: prefixEnd(prefix) } : { lower };
}

/** A page of a list read at `revision`, with `remaining` keys left after it (0: the list is complete). */
export function listPage(items: KeyValue[], revision: number, remaining = 0): ListResult {
  return remaining > 0 ? { items, revision, more: true, remaining } : { items, revision, more: false };
}
