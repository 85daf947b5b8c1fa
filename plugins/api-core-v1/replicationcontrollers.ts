/**
 * ReplicationControllers: defaulting (replicas, selector and labels from the template), template
 * validation with spec.template.spec paths, and the autoscaling/v1 scale subresource.
 */
import {
  errors,
  type FieldError,
  type KubeObject,
  type ResourceDefinition,
  type Strategy,
  type SubresourceRequest,
} from 'skiff/sdk/api';
import {
  checkNonNegativeInt,
  forbidden,
  invalid,
  isInt,
  isObj,
  NON_NEGATIVE,
  notSupported,
  objOf,
  required,
  typeInvalid,
} from './field.js';
import { dns1123LabelErrors, labelMapErrors } from './names.js';
import { defaultPodSpec } from './pod-defaults.js';
import { validatePodSpec } from './pod-validation.js';
import { podSpecWarnings } from './pod-warnings.js';

function defaultRC(rc: KubeObject): void {
  const spec = rc.spec;
  if (!isObj(spec)) return;
  const template = isObj(spec.template) ? spec.template : undefined;
  const labels = isObj(template?.metadata) ? template.metadata.labels : undefined;
  if (isObj(labels)) {
    if (!isObj(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
    if (!rc.metadata.labels || Object.keys(rc.metadata.labels).length === 0) {
      rc.metadata.labels = { ...(labels as Record<string, string>) };
    }
  }
  spec.replicas ??= 1;
  if (template && isObj(template.spec)) defaultPodSpec(template.spec);
}

function selectorMatches(selector: Record<string, unknown>, labels: unknown): boolean {
  const l = objOf(labels);
  return Object.entries(selector).every(([k, v]) => l[k] === v);
}

function validateTemplate(template: unknown, selector: unknown): FieldError[] {
  const path = 'spec.template';
  if (template === undefined || template === null) return [required(path)];
  if (!isObj(template)) return [typeInvalid(path, template, 'must be an object')];
  const labels = objOf(template.metadata).labels;
  const errs = labelMapErrors(labels, `${path}.metadata.labels`);
  if (isObj(selector) && Object.keys(selector).length && !selectorMatches(selector, labels)) {
    errs.push(invalid(`${path}.metadata.labels`, labels ?? {}, '`selector` does not match template `labels`'));
  }
  errs.push(...validatePodSpec(template.spec, `${path}.spec`));
  const spec = objOf(template.spec);
  if (spec.restartPolicy !== undefined && spec.restartPolicy !== 'Always') {
    errs.push(notSupported(`${path}.spec.restartPolicy`, spec.restartPolicy, ['Always']));
  }
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null) {
    errs.push(
      forbidden(
        `${path}.spec.activeDeadlineSeconds`,
        'activeDeadlineSeconds in ReplicationController is not Supported',
      ),
    );
  }
  return errs;
}

export function validateRC(rc: KubeObject): FieldError[] {
  if (!isObj(rc.spec))
    return [rc.spec === undefined ? required('spec') : typeInvalid('spec', rc.spec, 'must be an object')];
  const spec = rc.spec;
  const errs = [
    ...checkNonNegativeInt(spec.replicas, 'spec.replicas'),
    ...checkNonNegativeInt(spec.minReadySeconds, 'spec.minReadySeconds'),
  ];
  if (!isObj(spec.selector) || Object.keys(spec.selector).length === 0) errs.push(required('spec.selector'));
  else errs.push(...labelMapErrors(spec.selector, 'spec.selector'));
  errs.push(...validateTemplate(spec.template, spec.selector));
  return errs;
}

function templateWarnings(rc: KubeObject): string[] {
  const template = objOf(objOf(rc.spec).template);
  return podSpecWarnings(template.spec, template.metadata, 'spec.template');
}

/** Upstream's rcStrategy warnings: the name ends up in pod names, the template is a pod spec. */
function rcWarnings(rc: KubeObject): string[] {
  const nameErrors = dns1123LabelErrors(rc.metadata.name ?? '');
  const name = nameErrors.length
    ? [
        `metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [${nameErrors.join(' ')}]`,
      ]
    : [];
  return [...name, ...templateWarnings(rc)];
}

export const rcStrategy: Strategy = {
  defaults: defaultRC,
  prepareForCreate(obj) {
    obj.status = { replicas: 0 };
  },
  prepareForUpdate(obj, old) {
    if (old.status === undefined) delete obj.status;
    else obj.status = old.status;
  },
  validate: validateRC,
  validateUpdate: validateRC,
  // Upstream keeps v1's behaviour for v1 clients: a DELETE without a propagationPolicy orphans the pods.
  defaultGarbageCollectionPolicy: 'OrphanDependents',
  warningsOnCreate: rcWarnings,
  // Only a change of the spec is worth a warning (upstream compares generations).
  warningsOnUpdate: (obj, old) => (obj.metadata.generation !== old.metadata.generation ? templateWarnings(obj) : []),
};

/** A label selector as upstream prints one: keys sorted, `k=v` joined by commas. */
export function selectorString(selector: unknown): string {
  return Object.entries(objOf(selector))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

export function scaleOf(rc: KubeObject): KubeObject {
  const m = rc.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: objOf(rc.spec).replicas ?? 0 },
    status: { replicas: objOf(rc.status).replicas ?? 0, selector: selectorString(objOf(rc.spec).selector) },
  };
}

function validateScale(scale: KubeObject, name: string): void {
  const replicas = objOf(scale.spec).replicas;
  const errs: FieldError[] = [];
  if (replicas !== undefined && !isInt(replicas))
    errs.push(typeInvalid('spec.replicas', replicas, 'must be an integer'));
  else if (isInt(replicas) && replicas < 0) errs.push(invalid('spec.replicas', replicas, NON_NEGATIVE));
  if (errs.length) throw errors.invalid('Scale', 'autoscaling', name, errs);
}

async function updateScale(req: SubresourceRequest & { body: KubeObject }): Promise<KubeObject> {
  const scale = req.body;
  if (scale.metadata?.name && scale.metadata.name !== req.name) {
    throw errors.badRequest(
      `the name of the object (${scale.metadata.name}) does not match the name on the URL (${req.name})`,
    );
  }
  validateScale(scale, req.name);
  const replicas = objOf(scale.spec).replicas ?? 0;
  // Named so that admission sees the write as replicationcontrollers/scale, as upstream does.
  const options = {
    dryRun: req.dryRun,
    subresource: 'scale',
    expectedResourceVersion: scale.metadata?.resourceVersion || undefined,
  };
  const rc = await req.store.guaranteedUpdate(
    req.namespace,
    req.name,
    (current) => ({ ...current, spec: { ...objOf(current.spec), replicas } }),
    options,
  );
  return scaleOf(rc);
}

export const rcDefinition: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  plural: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  // Upstream's historical etcd prefix for replication controllers.
  storagePrefix: '/registry/controllers/',
  strategy: rcStrategy,
  fieldSelectors: { 'status.replicas': (o) => String(objOf(o.status).replicas ?? 0) },
  hasStatus: true,
  subresources: {
    scale: {
      kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      verbs: ['get', 'patch', 'update'],
      handler: {
        get: async (req) => scaleOf(await req.store.get(req.namespace, req.name)),
        update: updateScale,
      },
    },
  },
};
