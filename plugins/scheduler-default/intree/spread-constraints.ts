/**
 * PodTopologySpread's constraints: the pod's own topologySpreadConstraints (matchLabelKeys folded
 * into the selector, minDomains, nodeAffinityPolicy Honor and nodeTaintsPolicy Ignore by default),
 * or, when it has none, the profile's default constraints with a selector built from the services,
 * replication controllers, replica sets and stateful sets the pod belongs to.
 */
import type { KubeObject } from 'skiff/sdk';
import type { Listers } from '../framework/handle.js';
import type { NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { andSelectors, labelSelector, type NodeMatcher, type Selector, setSelector } from '../model/selectors.js';
import { firstUntolerated, isDoNotSchedule } from '../model/taints.js';
import { obj, objs } from './common.js';

export const HOSTNAME = 'kubernetes.io/hostname';
export const ZONE = 'topology.kubernetes.io/zone';

export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  selector: Selector;
  minDomains: number;
  honorNodeAffinity: boolean;
  honorNodeTaints: boolean;
}

export type RawConstraint = Record<string, unknown>;

/** Upstream's system defaults: spread by hostname (skew 3) and by zone (skew 5), both soft. */
export const SYSTEM_DEFAULT_CONSTRAINTS: RawConstraint[] = [
  { topologyKey: HOSTNAME, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 3 },
  { topologyKey: ZONE, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 5 },
];

/** The constraints of one kind (DoNotSchedule or ScheduleAnyway), compiled. */
export function compile(
  raw: readonly RawConstraint[],
  podLabels: Readonly<Record<string, string>>,
  action: string,
): SpreadConstraint[] {
  return raw
    .filter((c) => c.whenUnsatisfiable === action)
    .map((c) => {
      let selector = labelSelector(c.labelSelector);
      const keys = Array.isArray(c.matchLabelKeys) ? c.matchLabelKeys.map(String) : [];
      const extra: Record<string, string> = {};
      for (const k of keys) if (podLabels[k] !== undefined) extra[k] = podLabels[k]!;
      if (Object.keys(extra).length) selector = andSelectors(selector, setSelector(extra));
      return {
        maxSkew: Number(c.maxSkew ?? 1),
        topologyKey: String(c.topologyKey ?? ''),
        selector,
        minDomains: typeof c.minDomains === 'number' ? c.minDomains : 1,
        honorNodeAffinity: c.nodeAffinityPolicy !== 'Ignore',
        honorNodeTaints: c.nodeTaintsPolicy === 'Honor',
      };
    });
}

/** Upstream's helper.DefaultSelector: the selectors of what the pod belongs to, merged. */
export function defaultSelector(pod: PodInformation, listers: Listers): Selector {
  const set: Record<string, string> = {};
  for (const svc of listers.list('services')) {
    if (svc.metadata.namespace !== pod.namespace) continue;
    const sel = obj(svc.spec).selector;
    if (sel === undefined || sel === null) continue;
    if (setSelector(sel as Record<string, string>).matches(pod.labels)) Object.assign(set, sel);
  }
  let selector = setSelector(set);
  const owner = (pod.pod.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (!owner) return selector;
  const found = (kind: Parameters<Listers['get']>[0]) => listers.get(kind, pod.namespace, owner.name);
  if (owner.kind === 'ReplicationController' && owner.apiVersion === 'v1') {
    const rc = found('replicationcontrollers');
    if (rc) selector = setSelector({ ...set, ...(obj(rc.spec).selector as Record<string, string>) });
  } else if ((owner.kind === 'ReplicaSet' || owner.kind === 'StatefulSet') && owner.apiVersion === 'apps/v1') {
    const o: KubeObject | undefined = found(owner.kind === 'ReplicaSet' ? 'replicasets' : 'statefulsets');
    if (o) selector = andSelectors(selector, labelSelector(obj(o.spec).selector));
  }
  return selector;
}

/** Whether the node counts for the constraint under its node inclusion policies. */
export function includesNode(
  c: SpreadConstraint,
  pod: PodInformation,
  node: NodeInformation,
  required: NodeMatcher | undefined,
): boolean {
  if (c.honorNodeAffinity && required && !required(node)) return false;
  if (c.honorNodeTaints && firstUntolerated(node.taints, pod.tolerations, isDoNotSchedule)) return false;
  return true;
}

/** Whether the node has every constraint's topology label. */
export function hasAllTopologyKeys(node: NodeInformation, constraints: readonly SpreadConstraint[]): boolean {
  for (const c of constraints) if (node.labels[c.topologyKey] === undefined) return false;
  return true;
}

/** Pods on the node in `namespace` the selector matches (terminating pods do not count). */
export function countMatching(pods: readonly PodInformation[], selector: Selector, namespace: string): number {
  // Upstream's countPodsMatchSelector counts nothing for an empty selector.
  if (selector.empty || selector.nothing) return 0;
  let n = 0;
  for (const p of pods) {
    if (p.namespace !== namespace || p.terminating) continue;
    if (selector.matches(p.labels)) n++;
  }
  return n;
}

/** The pod's constraints of `action`, or the defaults with the pod's derived selector. */
export function constraintsFor(
  pod: PodInformation,
  action: 'DoNotSchedule' | 'ScheduleAnyway',
  defaults: readonly RawConstraint[],
  listers: Listers,
): SpreadConstraint[] {
  const own = objs(pod.spec.topologySpreadConstraints);
  if (own.length > 0) return compile(own, pod.labels, action);
  const constraints = compile(defaults, pod.labels, action);
  if (constraints.length === 0) return [];
  const selector = defaultSelector(pod, listers);
  if (selector.empty || selector.nothing) return [];
  return constraints.map((c) => ({ ...c, selector }));
}
