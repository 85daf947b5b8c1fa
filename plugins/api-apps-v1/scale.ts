/**
 * The autoscaling/v1 Scale subresource of Deployments and ReplicaSets (`kubectl scale`, HPA): a view
 * of spec.replicas, status.replicas and the selector as a string; writing it sets spec.replicas only.
 */
import {
  errors,
  type FieldError,
  type KubeObject,
  type SubresourceDefinition,
  type SubresourceRequest,
} from 'skiff/sdk/api';
import { invalid, isInt, NON_NEGATIVE, objOf, typeInvalid } from './fields.js';
import { selectorText } from './selector.js';

export function scaleOf(obj: KubeObject): KubeObject {
  const m = obj.metadata;
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
    spec: { replicas: objOf(obj.spec).replicas ?? 0 },
    status: { replicas: objOf(obj.status).replicas ?? 0, selector: selectorText(objOf(obj.spec).selector) },
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
  const options = {
    dryRun: req.dryRun,
    subresource: 'scale',
    expectedResourceVersion: scale.metadata?.resourceVersion || undefined,
  };
  const updated = await req.store.guaranteedUpdate(
    req.namespace,
    req.name,
    (current) => ({ ...current, spec: { ...objOf(current.spec), replicas } }),
    options,
  );
  return scaleOf(updated);
}

export const scaleSubresource: SubresourceDefinition = {
  kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  verbs: ['get', 'patch', 'update'],
  handler: {
    get: async (req) => scaleOf(await req.store.get(req.namespace, req.name)),
    update: updateScale,
  },
};
