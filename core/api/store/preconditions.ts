/**
 * Preconditions a write states about the object it changes, as upstream's store checks them: a
 * resourceVersion (as a revision for compare-and-swap), and a DELETE's preconditions (uid,
 * resourceVersion). One that does not hold is the client's 409 Conflict.
 */
import { errors } from '../../errors.js';
import { parseResourceVersion } from '../meta.js';
import type { KubeObject } from '../types.js';
import type { DeleteOptions } from './body-check.js';

type Qualified = { group: string; resource: string };

/** A resourceVersion precondition as a revision: undefined for none ("" and "0" as upstream); 400 if not a number. */
export function revisionOf(rv: string | undefined): number | undefined {
  const revision = parseResourceVersion(rv);
  if (Number.isNaN(revision)) throw errors.badRequest(`invalid resourceVersion "${rv}"`);
  return revision === 0 ? undefined : revision;
}

/** A uid the write names must be the stored object's. */
export function checkUid(qualified: Qualified, current: KubeObject, uid: string | undefined): void {
  if (uid && uid !== current.metadata.uid) {
    throw errors.conflict(
      qualified,
      current.metadata.name!,
      `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`,
    );
  }
}

/** A DELETE's preconditions against the stored object. */
export function checkDeletePreconditions(
  qualified: Qualified,
  current: KubeObject,
  pre: DeleteOptions['preconditions'],
): void {
  checkUid(qualified, current, pre?.uid);
  if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
    throw errors.conflict(
      qualified,
      current.metadata.name!,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
    );
  }
}
