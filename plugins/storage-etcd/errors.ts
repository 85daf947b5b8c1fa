/** etcd's and gRPC's failures, as the storage contract's errors. */
import { isBrokenCircuitError } from 'cockatiel';
import { StorageError, StorageUnavailableError, ValueTooLargeError } from 'skiff/sdk/storage';

/** etcd's default --max-request-bytes (1.5 MiB). */
export const DEFAULT_MAX_REQUEST_BYTES = 1572864;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** "mvcc: required revision has been compacted" (gRPC OUT_OF_RANGE). */
export const isCompacted = (err: unknown) => message(err).includes('required revision has been compacted');

/** "mvcc: required revision is a future revision". */
export const isFutureRevision = (err: unknown) => message(err).includes('required revision is a future revision');

/**
 * Anything else etcd or the connection reports. Two sizes of "too large": up to etcd's
 * --max-request-bytes plus gRPC's overhead etcd itself answers "etcdserver: request is too large";
 * beyond that gRPC refuses the message ("received message larger than max").
 */
export function storageError(err: unknown, servers: string[], limitBytes: number): Error {
  if (err instanceof StorageError) return err;
  const text = message(err);
  if (text.includes('request is too large') || text.includes('received message larger than max')) {
    return new ValueTooLargeError(limitBytes);
  }
  if (text.includes('client was already closed')) return new StorageUnavailableError('the etcd store is closed');
  // Not etcd's words but the client's breaker: say what it means (see client.ts).
  const why = isBrokenCircuitError(err)
    ? 'no member answers (each is tried again 2 s after three failures in a row)'
    : text.replace(/^\w*Error: /, '');
  return new StorageUnavailableError(
    `etcd at ${servers.join(',')} failed: ${why} (check that etcd runs and is reachable, ` +
      'and plugins.storage-etcd.servers / --etcd-servers)',
  );
}
