/**
 * Controller references, after upstream's ControllerRefManager (pkg/controller): which objects a
 * controller owns. An object whose controller reference names the owner is kept while the owner's
 * selector matches it and released (its reference removed) when it no longer does; an orphan the
 * selector matches is adopted (a reference with controller and blockOwnerDeletion set), after one
 * fresh read of the owner proves it is not being deleted. Adoption and release are strategic-merge
 * patches carrying the object's uid, so they never touch an object deleted and re-created under the
 * same name meanwhile.
 */

import type { LabelSelector } from '../api/selectors.js';
import { matchesLabels } from '../api/selectors.js';
import type { KubeObject, OwnerReference } from '../api/types.js';
import type { ApiClient, ResourceRef } from '../client/types.js';
import { isStatusError } from '../errors.js';

export interface KindRef {
  apiVersion: string;
  kind: string;
}

/** The owner reference with controller: true, if any. */
export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

/** The reference a controller puts on what it creates: controller and blockOwnerDeletion set. */
export function newControllerRef(owner: KubeObject, kind: KindRef): OwnerReference {
  return {
    apiVersion: kind.apiVersion,
    kind: kind.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export interface ClaimOptions {
  client: ApiClient;
  owner: KubeObject;
  ownerKind: KindRef;
  selector: LabelSelector;
  /** The dependents' resource, which adoption and release patch. */
  dependents: ResourceRef;
  /** Throws when the owner may not adopt (upstream's RecheckDeletionTimestamp); asked once per claim. */
  canAdopt(): Promise<void>;
}

const ignorable = (err: unknown, codes: number[]) => isStatusError(err) && codes.includes(err.code);

/**
 * The objects of `candidates` the owner controls after adopting and releasing what it must. Errors
 * of single adoptions or releases do not stop the others; the first one is thrown at the end, so
 * the caller retries, as upstream's aggregated error does.
 */
export async function claimDependents(options: ClaimOptions, candidates: readonly KubeObject[]): Promise<KubeObject[]> {
  const { owner, selector } = options;
  const ownerUid = owner.metadata.uid;
  const deleting = Boolean(owner.metadata.deletionTimestamp);
  const claimed: KubeObject[] = [];
  let failure: unknown;
  let adoptable: Promise<void> | undefined;
  for (const obj of candidates) {
    const ref = controllerRefOf(obj);
    const matches = matchesLabels(selector, obj.metadata.labels);
    try {
      if (ref) {
        if (ref.uid !== ownerUid) continue;
        if (matches) claimed.push(obj);
        else if (!deleting) await release(options, obj);
        continue;
      }
      if (deleting || !matches || obj.metadata.deletionTimestamp) continue;
      if (owner.metadata.namespace && owner.metadata.namespace !== obj.metadata.namespace) continue;
      adoptable ??= options.canAdopt();
      await adoptable;
      await adopt(options, obj);
      claimed.push(obj);
    } catch (err) {
      if (ignorable(err, [404])) continue;
      failure ??= err;
    }
  }
  if (failure) throw failure;
  return claimed;
}

async function adopt(options: ClaimOptions, obj: KubeObject): Promise<void> {
  const ref = newControllerRef(options.owner, options.ownerKind);
  const patch = { metadata: { ownerReferences: [ref], uid: obj.metadata.uid } };
  await options.client.patch(
    options.dependents,
    obj.metadata.namespace ?? '',
    obj.metadata.name ?? '',
    'strategic',
    patch,
  );
}

async function release(options: ClaimOptions, obj: KubeObject): Promise<void> {
  const patch = {
    metadata: { ownerReferences: [{ $patch: 'delete', uid: options.owner.metadata.uid }], uid: obj.metadata.uid },
  };
  try {
    const { namespace = '', name = '' } = obj.metadata;
    await options.client.patch(options.dependents, namespace, name, 'strategic', patch);
  } catch (err) {
    // Gone, or deleted and re-created (its uid differs): nothing of ours to release.
    if (!ignorable(err, [404, 409, 422])) throw err;
  }
}

/**
 * Upstream's RecheckDeletionTimestamp: reads the owner fresh from the server and refuses adoption
 * when it is gone, was replaced (another uid), or is being deleted.
 */
export function recheckOwner(client: ApiClient, ref: ResourceRef, owner: KubeObject): () => Promise<void> {
  return async () => {
    const { namespace = '', name = '', uid } = owner.metadata;
    const fresh = await client.get(ref, namespace, name);
    if (fresh.metadata.uid !== uid) {
      throw new Error(`original ${namespace}/${name} is gone: got uid ${fresh.metadata.uid}, wanted ${uid}`);
    }
    if (fresh.metadata.deletionTimestamp) {
      throw new Error(`${namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    }
  };
}
