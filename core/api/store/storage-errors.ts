/** Storage failures as the API errors a client can act on; shared by the store (writes) and the reader (reads). */
import { errors } from '../../errors.js';
import { StorageUnavailableError, ValueTooLargeError } from '../../storage/types.js';

export async function withStorageErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ValueTooLargeError) throw errors.tooLarge(err.limitBytes);
    if (err instanceof StorageUnavailableError)
      throw errors.serviceUnavailable(`storage is unavailable: ${err.message}`);
    throw err;
  }
}
