/** Small helpers for the storage tests: awaiting rejections and collecting watch streams. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Storage, StorageEvent, Watch } from '../../core/storage/types.js';

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

export interface Collector {
  events: StorageEvent[];
  errors: Error[];
  progress: number[];
  watch: Watch;
  /** Resolves once `n` events arrived; fails after `ms` or on a watch error. */
  until(n: number, ms?: number): Promise<StorageEvent[]>;
  /** Resolves once the watch reported an error. */
  failed(ms?: number): Promise<Error>;
}

export function collect(store: Storage, prefix: string, fromRevision: number): Collector {
  const c = { events: [] as StorageEvent[], errors: [] as Error[], progress: [] as number[] } as Collector;
  c.watch = store.watch(prefix, {
    fromRevision,
    onEvent: (e) => c.events.push(e),
    onError: (err) => c.errors.push(err),
    onProgress: (r) => c.progress.push(r),
  });
  c.until = async (n, ms = 5000) => {
    await waitFor(
      () => c.events.length >= n || c.errors.length > 0,
      ms,
      () => `${c.events.length}/${n} events`,
    );
    if (c.errors.length) throw c.errors[0];
    return c.events;
  };
  c.failed = async (ms = 2000) => {
    await waitFor(
      () => c.errors.length > 0,
      ms,
      () => `no watch error; events: ${c.events.length}`,
    );
    return c.errors[0]!;
  };
  return c;
}

export async function waitFor(ok: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting: ${what()}`);
    await sleep(2);
  }
}

/** Let queued deliveries run, to check that nothing more arrives. */
export function settle(ms = 30): Promise<void> {
  return sleep(ms).then(() => undefined);
}

export function summary(events: StorageEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.key} @${e.revision}`);
}
