/**
 * apps/v1 ReplicaSet: upstream's defaults (replicas 1, the template's pod spec), validation, the
 * status and scale subresources, `kubectl get rs` columns.
 */
import type { KubeObject, ResourceDefinition, Strategy } from 'skiff/sdk/api';
import { isObj, objOf } from './fields.js';
import { patchMetaOf } from './patch-meta.js';
import { scaleSubresource } from './scale.js';
import { replicatedSpecErrors, selectorImmutable } from './spec-validation.js';
import { replicaSetTable } from './tables.js';
import type { PodTemplates } from './template.js';

function replicaSetStrategy(templates: PodTemplates): Strategy {
  const defaults = async (obj: KubeObject, ctx: Parameters<PodTemplates['default']>[1]) => {
    if (!isObj(obj.spec)) return;
    obj.spec.replicas ??= 1;
    await templates.default(obj, ctx);
  };
  return {
    defaults,
    prepareForCreate(obj) {
      obj.status = { replicas: 0 };
    },
    prepareForUpdate(obj, old) {
      if (old.status === undefined) delete obj.status;
      else obj.status = old.status;
    },
    validate: (obj, ctx) => replicatedSpecErrors(obj, templates, ctx),
    validateUpdate: (obj, old, ctx) => [...replicatedSpecErrors(obj, templates, ctx), ...selectorImmutable(obj, old)],
    warningsOnCreate: (obj, ctx) => templates.warnings(objOf(obj.spec).template, 'spec.template', ctx),
    warningsOnUpdate: (obj, old, ctx) =>
      obj.metadata.generation !== old.metadata.generation
        ? templates.warnings(objOf(obj.spec).template, 'spec.template', ctx)
        : [],
  };
}

export function replicaSetDefinition(templates: PodTemplates): ResourceDefinition {
  return {
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    singular: 'replicaset',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    strategy: replicaSetStrategy(templates),
    hasStatus: true,
    subresources: { scale: scaleSubresource },
    fieldSelectors: { 'status.replicas': (o) => String(objOf(o.status).replicas ?? 0) },
    patchMeta: patchMetaOf('k8s.io.api.apps.v1.ReplicaSet'),
    table: replicaSetTable,
  };
}
