/**
 * Requests to a subresource: /status of kinds that have one (get, update, patch of .status only),
 * and the subresources kinds define with their own handlers (scale, binding, eviction, token...),
 * patched as upstream's patcher does: get → patch → update, again on a conflict.
 */
import { errors } from '../errors.js';
import type { ApiCall, ApiOutcome, Served } from './api-call.js';
import { type ServedPatches, validatePatchOptions } from './patch.js';
import { dropUnknownPatchedFields } from './patch-fields.js';
import { created, requireObject, resourceVersionOf } from './request-options.js';
import type { WriteScope } from './store/generic-store.js';
import type { KubeObject, SubresourceDefinition, SubresourceRequest } from './types.js';

/** A patch of a stored object (or of its status) through the store's read-modify-write. */
export function patchStored(
  served: Served,
  scope: WriteScope,
  name: string,
  call: ApiCall,
  patches: ServedPatches,
): Promise<KubeObject> {
  const type = patches.served(call.patchType);
  validatePatchOptions(call.query, type === 'apply');
  return served.store.updateWith(scope, name, (current) => {
    const patched = patches.apply(current, type, call.body, served.def.patchMeta) as KubeObject;
    if (type !== 'apply') dropUnknownPatchedFields(patched, served.def, type, call);
    return patched;
  });
}

export async function serveSubresource(
  served: Served,
  call: ApiCall,
  scope: WriteScope,
  patches: ServedPatches,
): Promise<ApiOutcome> {
  const { info } = call;
  if (info.subresource === 'status' && served.def.hasStatus) return serveStatus(served, scope, call, patches);
  const sub: SubresourceDefinition | undefined = served.def.subresources?.[info.subresource];
  if (!sub) throw errors.notFoundPath();
  if (!(sub.verbs as string[]).includes(info.verb)) throw errors.methodNotAllowed();
  const base = {
    namespace: info.namespace,
    name: info.name,
    dryRun: scope.dryRun,
    query: call.query,
    store: served.store,
  };
  const h = sub.handler;
  switch (info.verb) {
    case 'get':
      if (!h.get) throw errors.methodNotAllowed();
      return { code: 200, body: await h.get(base) };
    case 'update':
      if (!h.update) throw errors.methodNotAllowed();
      return { code: 200, body: await h.update({ ...base, body: requireObject(call.body) }) };
    case 'create': {
      if (!h.create) throw errors.methodNotAllowed();
      const body = requireObject(call.body);
      await served.store.admitSubresourceCreate(scope, info.subresource, info.name, body);
      return created(await h.create({ ...base, body }));
    }
    case 'patch': {
      if (!h.get || !h.update || !call.patchType) throw errors.methodNotAllowed();
      patches.served(call.patchType);
      return { code: 200, body: await patchSubresource(h, base, call, patches) };
    }
    default:
      throw errors.methodNotAllowed();
  }
}

/**
 * get → patch → update, as upstream's patcher: the patched object's resourceVersion is the
 * update's precondition. A patch that set it to another than the current one is the client's 409
 * at once; one that left it alone carries the current one and, after a conflict, is applied again
 * to the newer object, so `kubectl scale` does not lose to a controller's write.
 */
async function patchSubresource(
  h: SubresourceDefinition['handler'],
  base: Omit<SubresourceRequest, 'body'>,
  call: ApiCall,
  patches: ServedPatches,
): Promise<KubeObject> {
  const { group, plural } = base.store.definition;
  for (let attempt = 0; ; attempt++) {
    const current = await h.get!(base);
    const patched = patches.apply(current, call.patchType!, call.body) as KubeObject;
    const pinned = resourceVersionOf(patched);
    if (pinned && pinned !== '0' && pinned !== resourceVersionOf(current))
      throw errors.staleResourceVersion({ group, resource: plural }, base.name);
    try {
      return await h.update!({ ...base, body: patched });
    } catch (err) {
      if (attempt >= 4 || (err as { reason?: string }).reason !== 'Conflict') throw err;
    }
  }
}

async function serveStatus(
  served: Served,
  scope: WriteScope,
  call: ApiCall,
  patches: ServedPatches,
): Promise<ApiOutcome> {
  const { info } = call;
  switch (info.verb) {
    case 'get':
      return { code: 200, body: await served.store.get(info.namespace, info.name) };
    case 'update': {
      const body = requireObject(call.body);
      const object = await served.store.updateWith(scope, info.name, () => body, body.metadata?.resourceVersion);
      return { code: 200, body: object };
    }
    case 'patch':
      return { code: 200, body: await patchStored(served, scope, info.name, call, patches) };
    default:
      throw errors.methodNotAllowed();
  }
}
