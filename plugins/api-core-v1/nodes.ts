/**
 * Nodes: cluster-scoped, created by kubelets with their status (upstream keeps status on create),
 * taints validated as upstream does, stored under upstream's historical `minions` prefix.
 */
import type { FieldError, KubeObject, ResourceDefinition, Strategy } from 'skiff/sdk/api';
import { duplicate, invalid, isObj, objList, objOf, required, typeInvalid } from './field.js';
import { cidrErrors, labelValueErrors, nameAt, qualifiedNameErrors } from './names.js';
import { TAINT_EFFECTS } from './pod-validation.js';
import { resourceListErrors } from './quantity.js';

function defaultNode(node: KubeObject): void {
  const status = node.status;
  if (isObj(status) && isObj(status.capacity) && status.allocatable === undefined) {
    status.allocatable = { ...status.capacity };
  }
}

function taintErrors(taints: unknown): FieldError[] {
  const seen = new Set<string>();
  return objList(taints).flatMap((t, i) => {
    const at = `spec.taints[${i}]`;
    const errs = nameAt(`${at}.key`, t.key, qualifiedNameErrors);
    if (typeof t.value === 'string' && t.value) {
      errs.push(...labelValueErrors(t.value).map((m) => invalid(`${at}.value`, t.value, m)));
    }
    if (!t.effect) errs.push(required(`${at}.effect`));
    else if (!TAINT_EFFECTS.includes(String(t.effect))) {
      errs.push({ type: 'FieldValueNotSupported', field: `${at}.effect`, value: t.effect, supported: TAINT_EFFECTS });
    }
    const key = `${String(t.key)}\u0000${String(t.effect)}`;
    if (seen.has(key)) errs.push({ ...duplicate(at, t), detail: 'taints must be unique by key and effect pair' });
    seen.add(key);
    return errs;
  });
}

export function validateNode(node: KubeObject): FieldError[] {
  if (node.spec !== undefined && !isObj(node.spec)) return [typeInvalid('spec', node.spec, 'must be an object')];
  const spec = objOf(node.spec);
  const errs = taintErrors(spec.taints);
  const cidrs = [spec.podCIDR, ...(Array.isArray(spec.podCIDRs) ? spec.podCIDRs : [])].filter((c) => c);
  for (const cidr of new Set(cidrs)) {
    const at = cidr === spec.podCIDR ? 'spec.podCIDR' : 'spec.podCIDRs';
    errs.push(
      ...(typeof cidr === 'string'
        ? cidrErrors(cidr).map((m) => invalid(at, cidr, m))
        : [typeInvalid(at, cidr, 'must be a string')]),
    );
  }
  const status = objOf(node.status);
  errs.push(...resourceListErrors(status.capacity, 'status.capacity'));
  errs.push(...resourceListErrors(status.allocatable, 'status.allocatable'));
  return errs;
}

export const nodeStrategy: Strategy = {
  // Upstream keeps no metadata.generation for this kind (only strategies that set it have one).
  tracksGeneration: false,
  prepareForCreate: defaultNode,
  prepareForUpdate(obj, old) {
    if (old.status === undefined) delete obj.status;
    else obj.status = old.status;
    defaultNode(obj);
  },
  validate: validateNode,
  validateUpdate: validateNode,
};

export const nodeDefinition: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  storagePrefix: '/registry/minions/',
  strategy: nodeStrategy,
  fieldSelectors: { 'spec.unschedulable': (o) => String(objOf(o.spec).unschedulable === true) },
  hasStatus: true,
};
