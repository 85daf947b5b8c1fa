/**
 * PATCH application/apply-patch+yaml on a main resource, as upstream's apply patcher: apply to the
 * live object, or create it when there is none (201). What the object becomes is the field
 * manager's; the reads, writes and retries are the store's, as for every other patch.
 */
import { isStatusError } from '../errors.js';
import type { FieldManager } from './field-manager.js';
import { validatePatchOptions } from './patch.js';
import type { GenericStore, WriteScope } from './store/generic-store.js';
import type { KubeObject } from './types.js';

export async function serveApply(
  fields: FieldManager,
  store: GenericStore,
  scope: WriteScope,
  name: string,
  body: unknown,
  query: URLSearchParams,
): Promise<{ object: KubeObject; created: boolean }> {
  validatePatchOptions(query, true);
  const def = store.definition;
  const manager = query.get('fieldManager')!;
  const force = query.get('force') === 'true';
  const config = fields.prepareApply(def, name, body);
  // The apply records its own managedFields entry: the store must not add an Update one.
  const untracked: WriteScope = { ...scope, fieldManager: undefined };
  for (let attempt = 0; ; attempt++) {
    try {
      // A resourceVersion in the configuration lands in the merged object: the store's precondition.
      const object = await store.updateWith(untracked, name, (live) => fields.apply(def, manager, live, config, force));
      return { object, created: false };
    } catch (err) {
      if (!isStatusError(err) || err.code !== 404) throw err;
    }
    try {
      const fresh = fields.apply(def, manager, undefined, config, force);
      fresh.metadata.name = name;
      // Upstream creates through its update path, which checks no resourceVersion and stores none.
      delete fresh.metadata.resourceVersion;
      return { object: await store.create(untracked, fresh), created: true };
    } catch (err) {
      // Created by someone else meanwhile: apply to theirs.
      if (!isStatusError(err) || err.reason !== 'AlreadyExists' || attempt >= 2) throw err;
    }
  }
}
