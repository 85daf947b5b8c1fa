/**
 * Namespaces: phase Active on create, the `kubernetes` finalizer, the kubernetes.io/metadata.name
 * label, and the finalize subresource (the only way to change spec.finalizers after create).
 */
import {
  errors,
  type FieldError,
  type KubeObject,
  type ResourceDefinition,
  type Strategy,
  type SubresourceRequest,
} from 'skiff/sdk/api';
import { invalid, isObj, listOf, objOf, typeInvalid } from './field.js';
import { finalizerNameErrors } from './names.js';

export const NAME_LABEL = 'kubernetes.io/metadata.name';

function labelWithName(ns: KubeObject): void {
  ns.metadata.labels = { ...ns.metadata.labels, [NAME_LABEL]: ns.metadata.name ?? '' };
}

function validateNamespace(ns: KubeObject): FieldError[] {
  if (ns.spec !== undefined && !isObj(ns.spec)) return [typeInvalid('spec', ns.spec, 'must be an object')];
  const finalizers = objOf(ns.spec).finalizers;
  if (finalizers !== undefined && !Array.isArray(finalizers)) {
    return [typeInvalid('spec.finalizers', finalizers, 'must be a list of strings')];
  }
  return listOf(finalizers).flatMap((f) =>
    typeof f === 'string'
      ? finalizerNameErrors(f).map((m) => invalid('spec.finalizers', f, m))
      : [typeInvalid('spec.finalizers', f, 'must be a string')],
  );
}

export const namespaceStrategy: Strategy = {
  // Upstream keeps no metadata.generation for this kind (only strategies that set it have one).
  tracksGeneration: false,
  prepareForCreate(obj) {
    if (obj.spec === undefined || obj.spec === null) obj.spec = {};
    const spec = obj.spec;
    if (isObj(spec)) {
      const finalizers = listOf(spec.finalizers);
      // Required on create; only the namespace controller removes it, through finalize.
      spec.finalizers = finalizers.includes('kubernetes') ? finalizers : [...finalizers, 'kubernetes'];
    }
    obj.status = { phase: 'Active' };
    labelWithName(obj);
  },
  prepareForUpdate(obj, old) {
    obj.spec = { ...objOf(obj.spec) };
    const finalizers = objOf(old.spec).finalizers;
    if (finalizers === undefined) delete (obj.spec as Record<string, unknown>).finalizers;
    else (obj.spec as Record<string, unknown>).finalizers = finalizers;
    if (old.status === undefined) delete obj.status;
    else obj.status = old.status;
    labelWithName(obj);
  },
  validate: validateNamespace,
  validateUpdate: validateNamespace,
  // Upstream: a namespace with spec.finalizers goes Terminating on delete and stays until the
  // namespace controller has emptied it and cleared them through /finalize.
  holdOnDelete(obj) {
    if (listOf(objOf(obj.spec).finalizers).length === 0) return false;
    obj.status = { ...objOf(obj.status), phase: 'Terminating' };
    return true;
  },
};

async function finalize(req: SubresourceRequest & { body: KubeObject }): Promise<KubeObject> {
  const body = req.body;
  if (body.metadata?.name && body.metadata.name !== req.name) {
    throw errors.badRequest(
      `the name of the object (${body.metadata.name}) does not match the name on the URL (${req.name})`,
    );
  }
  const finalizers = listOf(objOf(body.spec).finalizers);
  const options = {
    dryRun: req.dryRun,
    subresource: 'finalize',
    expectedResourceVersion: body.metadata?.resourceVersion || undefined,
  };
  return req.store.guaranteedUpdate(
    '',
    req.name,
    (current) => {
      const spec = { ...objOf(current.spec) };
      if (finalizers.length) spec.finalizers = finalizers;
      else delete spec.finalizers;
      return { ...current, spec };
    },
    options,
  );
}

export const namespaceDefinition: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  nameRule: 'label',
  strategy: namespaceStrategy,
  fieldSelectors: {
    'status.phase': (o) => String(objOf(o.status).phase ?? ''),
    // Upstream keeps this non-prefixed alias for old clients.
    name: (o) => o.metadata.name ?? '',
  },
  returnDeletedObject: true,
  hasStatus: true,
  subresources: {
    finalize: { verbs: ['update'], handler: { update: finalize } },
  },
};
