/**
 * Pods: defaulting, validation, the status reset on create, field selectors, and binding (both the
 * pods/binding subresource and the virtual v1 bindings resource, which do the same thing).
 */
import {
  errors,
  type FieldError,
  type KubeObject,
  nowTimestamp,
  type ObjectStore,
  type ResourceDefinition,
  type Strategy,
} from 'skiff/sdk/api';
import { checkEnum, isObj, listOf, objOf, required, strOf } from './field.js';
import { dns1123SubdomainErrors, nameAt } from './names.js';
import { computeQosClass, defaultPod, mirrorServiceAccount } from './pod-defaults.js';
import { validatePodUpdate } from './pod-update.js';
import { validatePodSpec } from './pod-validation.js';
import { podNameWarnings, podSpecWarnings } from './pod-warnings.js';

const BINDING_RESOURCE = { group: '', resource: 'pods/binding' };

function initialStatus(spec: Record<string, unknown>): Record<string, unknown> {
  const status: Record<string, unknown> = { phase: 'Pending', qosClass: computeQosClass(spec) };
  if (listOf(spec.schedulingGates).length > 0) {
    status.conditions = [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'SchedulingGated',
        message: 'Scheduling is blocked due to non-empty scheduling gates',
        lastProbeTime: null,
        lastTransitionTime: nowTimestamp(),
      },
    ];
  }
  return status;
}

export const podStrategy: Strategy = {
  // Upstream v1.32 keeps no generation for pods (it came, behind a feature gate, in 1.33).
  tracksGeneration: false,
  defaults: defaultPod,
  prepareForCreate(obj) {
    obj.status = initialStatus(objOf(obj.spec));
  },
  prepareForUpdate(obj, old) {
    if (old.status === undefined) delete obj.status;
    else obj.status = old.status;
  },
  validate: (obj) => validatePodSpec(obj.spec, 'spec'),
  // Upstream warns on create only: pods are rarely written by people after that.
  warningsOnCreate: (obj) => [...podNameWarnings(obj.metadata.name), ...podSpecWarnings(obj.spec, obj.metadata)],
  // After mutating admission (which may have named the service account): the deprecated twin follows.
  canonicalize(obj) {
    if (isObj(obj.spec)) mirrorServiceAccount(obj.spec);
  },
  validateUpdate: (obj, old, ctx) => [
    ...validatePodSpec(obj.spec, 'spec'),
    ...validatePodUpdate(obj, old, ctx.subresource === 'binding'),
  ],
  holdOnDelete: holdPodOnDelete,
};

/**
 * Upstream's CheckGracefulDelete: a pod a kubelet runs stays, marked, for the request's grace
 * period (else its terminationGracePeriodSeconds) while the kubelet stops it; that kubelet then
 * deletes it with grace 0. Deleted at once: pods not bound to a node, terminal ones, and (unlike
 * upstream, where pod GC removes them later) pods no kubelet has reported on yet (no
 * status.hostIP): nobody would ever finish their deletion.
 */
function holdPodOnDelete(pod: KubeObject, options?: { gracePeriodSeconds?: number }): boolean {
  const meta = pod.metadata;
  // An update of a pod marked earlier: it stays while its grace period is not 0.
  if (!options) return (meta.deletionGracePeriodSeconds ?? 0) > 0;
  const spec = objOf(pod.spec);
  const status = objOf(pod.status);
  const requested = options.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds;
  let period = typeof requested === 'number' ? requested : 30;
  const terminal = status.phase === 'Succeeded' || status.phase === 'Failed';
  if (!spec.nodeName || terminal || !status.hostIP) period = 0;
  if (period < 0) period = 1;
  const earlier = meta.deletionTimestamp ? meta.deletionGracePeriodSeconds : undefined;
  meta.deletionGracePeriodSeconds = earlier === undefined ? period : Math.min(earlier, period);
  return meta.deletionGracePeriodSeconds > 0;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export const podFieldSelectors: ResourceDefinition['fieldSelectors'] = {
  'spec.nodeName': (o) => str(objOf(o.spec).nodeName),
  'spec.restartPolicy': (o) => str(objOf(o.spec).restartPolicy),
  'spec.schedulerName': (o) => str(objOf(o.spec).schedulerName),
  'spec.serviceAccountName': (o) => str(objOf(o.spec).serviceAccountName),
  'spec.hostNetwork': (o) => String(objOf(o.spec).hostNetwork === true),
  'status.phase': (o) => str(objOf(o.status).phase),
  'status.podIP': (o) => str(objOf(listOf(objOf(o.status).podIPs)[0]).ip) || str(objOf(o.status).podIP),
  'status.nominatedNodeName': (o) => str(objOf(o.status).nominatedNodeName),
};

function bindingErrors(binding: KubeObject): FieldError[] {
  const target = binding.target;
  if (!isObj(target)) return [required('target.name')];
  const errs = nameAt('target.name', target.name, dns1123SubdomainErrors);
  if (target.kind !== undefined && target.kind !== '')
    errs.push(...checkEnum(target.kind, 'target.kind', ['Node', '<empty>']));
  return errs;
}

function setScheduled(pod: KubeObject): void {
  const status = isObj(pod.status) ? pod.status : {};
  const conditions = listOf(status.conditions).filter((c) => objOf(c).type !== 'PodScheduled');
  const before = listOf(status.conditions).find((c) => objOf(c).type === 'PodScheduled');
  const wasTrue = objOf(before).status === 'True';
  conditions.push({
    type: 'PodScheduled',
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: wasTrue ? objOf(before).lastTransitionTime : nowTimestamp(),
  });
  pod.status = { ...status, conditions };
}

/** Upstream's BindingREST: set spec.nodeName once, merge the binding's annotations, mark PodScheduled. */
export async function bindPod(
  pods: ObjectStore,
  namespace: string,
  binding: KubeObject,
  dryRun: boolean,
  nameFromUrl?: string,
): Promise<KubeObject> {
  const meta = binding.metadata ?? {};
  const name = strOf(meta.name) || nameFromUrl || '';
  if (nameFromUrl && name !== nameFromUrl) throw errors.badRequest('name in URL does not match name in Binding object');
  const errs = [...nameAt('metadata.name', name, dns1123SubdomainErrors), ...bindingErrors(binding)];
  if (errs.length) throw errors.invalid('Binding', '', name, errs);
  const node = strOf(objOf(binding.target).name);
  const options = {
    dryRun,
    subresource: 'binding',
    expectedResourceVersion: meta.resourceVersion || undefined,
  };
  await pods.guaranteedUpdate(
    namespace,
    name,
    (pod) => {
      const uid = meta.uid;
      const conflict = (why: string) => errors.conflict(BINDING_RESOURCE, name, why);
      if (uid && uid !== pod.metadata.uid) {
        throw conflict(`Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid}`);
      }
      if (pod.metadata.deletionTimestamp) throw conflict(`pod ${name} is being deleted, cannot be assigned to a host`);
      const spec = isObj(pod.spec) ? pod.spec : {};
      if (spec.nodeName) throw conflict(`pod ${name} is already assigned to node "${spec.nodeName}"`);
      if (listOf(spec.schedulingGates).length) throw conflict(`pod ${name} has non-empty .spec.schedulingGates`);
      pod.spec = { ...spec, nodeName: node };
      const annotations = meta.annotations;
      if (annotations) pod.metadata.annotations = { ...pod.metadata.annotations, ...annotations };
      setScheduled(pod);
      return pod;
    },
    options,
  );
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
}

/** The store of pods, for the virtual bindings resource (which has none of its own). */
export type PodStoreLookup = () => ObjectStore;

export function podDefinitions(podStore: PodStoreLookup): ResourceDefinition[] {
  const pods: ResourceDefinition = {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    strategy: podStrategy,
    fieldSelectors: podFieldSelectors,
    returnDeletedObject: true,
    hasStatus: true,
    subresources: {
      binding: {
        kind: { group: '', version: 'v1', kind: 'Binding' },
        verbs: ['create'],
        handler: { create: (req) => bindPod(req.store, req.namespace, req.body, req.dryRun, req.name) },
      },
    },
  };
  const bindings: ResourceDefinition = {
    group: '',
    version: 'v1',
    kind: 'Binding',
    plural: 'bindings',
    singular: 'binding',
    namespaced: true,
    verbs: ['create'],
    strategy: { tracksGeneration: false },
    virtualCreate: (namespace, body, dryRun) => bindPod(podStore(), namespace, body, dryRun),
  };
  return [pods, bindings];
}
