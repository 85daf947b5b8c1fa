/**
 * The field manager this plugin contributes (FieldManager in skiff/sdk): core calls trackUpdate on
 * every create and update an API request makes to a main resource, and the rest for apply patches.
 */
import { errors, type FieldManager } from 'skiff/sdk';
import { apiVersionOf, clone, type KubeObject, type ResourceDefinition } from 'skiff/sdk/api';
import { applyConfig, type ManagedContext, trackUpdate } from './apply.js';
import { isObject, type Json } from './field-set.js';
import { managerOf } from './managed-fields.js';
import { schemaMetaOf } from './schema-meta.js';
import { checkApplyLists, merge } from './typed-value.js';

function contextOf(def: ResourceDefinition, manager: string, subresource = ''): ManagedContext {
  return {
    manager,
    apiVersion: apiVersionOf(def),
    kind: def.kind,
    meta: schemaMetaOf(def),
    ignoreStatus: Boolean(def.hasStatus || def.subresources?.status),
    subresource,
  };
}

/** Only well-formed bodies are tracked; the store refuses the rest with upstream's 400. */
const trackable = (obj: unknown): obj is KubeObject => isObject(obj) && isObject(obj.metadata);

/** What upstream's apply patcher refuses before it reads the live object (400s). */
function checkApplied(def: ResourceDefinition, name: string, config: unknown): KubeObject {
  if (!isObject(config)) throw errors.badRequest('error decoding YAML: the applied configuration must be an object');
  const obj = clone(config) as unknown as KubeObject;
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  if (!isObject(obj.metadata)) throw errors.badRequest('metadata must be an object');
  if (obj.metadata.managedFields !== undefined && obj.metadata.managedFields !== null)
    throw errors.badRequest('metadata.managedFields must be nil');
  delete obj.metadata.managedFields;
  const expected = apiVersionOf(def);
  if (obj.apiVersion !== expected) {
    throw errors.badRequest(
      `Incorrect version specified in apply patch. Specified patch version: ${String(obj.apiVersion ?? '')}, expected: ${expected}`,
    );
  }
  if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
    throw errors.badRequest(
      `the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${name})`,
    );
  }
  checkApplyLists(obj as unknown as Json, def.patchMeta ?? {});
  return obj;
}

export const fieldManager: FieldManager = {
  managerOf,
  trackUpdate(def, manager, live, next, subresource) {
    if (trackable(next)) trackUpdate(live, next, contextOf(def, manager, subresource === 'status' ? 'status' : ''));
  },
  prepareApply: checkApplied,
  apply: (def, manager, live, config, force) => applyConfig(live, config, contextOf(def, manager), force),
  mergeApplied(original, config, meta) {
    if (!isObject(config)) throw errors.badRequest('an applied configuration must be an object');
    return merge(original as Json, config, meta) as object;
  },
};
