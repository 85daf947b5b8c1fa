/** Upstream's cache.WaitForCacheSync: a controller starts its workers once its informers hold a first list. */
import type { Informer } from '../client/informer.js';

/** Resolves true once every informer has synced, false if `signal` aborts first. */
export async function waitForCacheSync(informers: readonly Informer[], signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  let onAbort = () => {};
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const synced = Promise.all(informers.map((i) => i.hasSynced())).then(() => true);
  const done = await Promise.race([synced, aborted]);
  signal.removeEventListener('abort', onAbort);
  return done;
}
