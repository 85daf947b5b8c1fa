/**
 * A pod with what the scheduler derives from it, computed once when the pod is first seen (the
 * queue and the cache share it): requests, inter-pod affinity terms with compiled selectors,
 * host ports, tolerations. Upstream's framework.PodInfo.
 */
import type { KubeObject } from 'skiff/sdk';
import type { PodInfo, Resource } from 'skiff/sdk/scheduler';
import { podRequests } from './requests.js';
import { type Labels, labelSelector, NOTHING, type Selector } from './selectors.js';
import { type Toleration, tolerationsOf } from './taints.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);
const EMPTY_LABELS: Labels = Object.freeze({});

/** A PodAffinityTerm, compiled (upstream's framework.AffinityTerm). */
export interface AffinityTerm {
  namespaces: Set<string>;
  namespaceSelector: Selector;
  selector: Selector;
  topologyKey: string;
}

export interface WeightedAffinityTerm {
  term: AffinityTerm;
  weight: number;
}

/** Whether `pod` is one the term selects: in its namespaces (or selected namespaces), labels matching. */
export function termMatches(term: AffinityTerm, pod: PodInfo, nsLabels?: Labels): boolean {
  if (term.namespaces.has(pod.namespace) || term.namespaceSelector.matches(nsLabels ?? EMPTY_LABELS)) {
    return term.selector.matches(pod.labels);
  }
  return false;
}

/**
 * Interned, so that pods of one template share their terms and their match key: a scheduling
 * cycle asks "does this term select that pod?" of thousands of pods, and equal questions get one
 * answer (intree/match-memo.ts). Bounded: a full table starts over.
 */
const INTERN_MAX = 20_000;
const internedTerms = new Map<string, AffinityTerm>();
const internedKeys = new Map<string, string>();

function newTerm(namespace: string, raw: Obj): AffinityTerm {
  const key = `${namespace}\u0000${JSON.stringify(raw)}`;
  let term = internedTerms.get(key);
  if (!term) {
    if (internedTerms.size >= INTERN_MAX) internedTerms.clear();
    term = compileTerm(namespace, raw);
    internedTerms.set(key, term);
  }
  return term;
}

/** Equal (one interned string) for pods with the same namespace and labels. */
function matchKeyOf(namespace: string, labels: Labels): string {
  const text = `${namespace}\u0000${JSON.stringify(labels)}`;
  const known = internedKeys.get(text);
  if (known !== undefined) return known;
  if (internedKeys.size >= INTERN_MAX) internedKeys.clear();
  internedKeys.set(text, text);
  return text;
}

function compileTerm(namespace: string, raw: Obj): AffinityTerm {
  const names = Array.isArray(raw.namespaces) ? raw.namespaces.map(String) : [];
  const hasNsSelector = raw.namespaceSelector !== undefined && raw.namespaceSelector !== null;
  // No namespaces and no selector: the pod's own namespace (upstream's getNamespacesFromPodAffinityTerm).
  const namespaces = new Set(names.length === 0 && !hasNsSelector ? [namespace] : names);
  return {
    namespaces,
    namespaceSelector: hasNsSelector ? labelSelector(raw.namespaceSelector) : NOTHING,
    selector: labelSelector(raw.labelSelector),
    topologyKey: String(raw.topologyKey ?? ''),
  };
}

const required = (namespace: string, a: Obj) =>
  objs(a.requiredDuringSchedulingIgnoredDuringExecution).map((t) => newTerm(namespace, t));

const preferred = (namespace: string, a: Obj): WeightedAffinityTerm[] =>
  objs(a.preferredDuringSchedulingIgnoredDuringExecution).map((w) => ({
    term: newTerm(namespace, obj(w.podAffinityTerm)),
    weight: Number(w.weight ?? 0),
  }));

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** Host ports of the containers (and sidecars) that use one; upstream defaults the IP and protocol. */
export function hostPortsOf(spec: Obj): HostPort[] {
  const out: HostPort[] = [];
  const containers = [
    ...objs(spec.containers),
    ...objs(spec.initContainers).filter((c) => c.restartPolicy === 'Always'),
  ];
  for (const c of containers) {
    for (const p of objs(c.ports)) {
      const port = Number(p.hostPort ?? 0);
      if (port <= 0) continue;
      out.push({ ip: String(p.hostIP || '0.0.0.0'), protocol: String(p.protocol || 'TCP'), port });
    }
  }
  return out;
}

export class PodInformation implements PodInfo {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  readonly labels: Labels;
  /** The same for pods of equal namespace and labels: what a term's answer depends on (match-memo.ts). */
  readonly matchKey: string;
  readonly priority: number;
  readonly spec: Obj;
  readonly requests: Resource;
  /** Requests with the scoring defaults (100m CPU, 200 MiB) for containers missing them. */
  readonly nonZeroRequests: Resource;
  readonly requiredAffinityTerms: AffinityTerm[];
  readonly requiredAntiAffinityTerms: AffinityTerm[];
  readonly preferredAffinityTerms: WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: WeightedAffinityTerm[];
  readonly tolerations: Toleration[];
  readonly hostPorts: HostPort[];
  /** Being deleted (deletionTimestamp set): read for every pod of every node by PodTopologySpread. */
  readonly terminating: boolean;
  nodeName: string;

  constructor(
    public pod: KubeObject,
    nodeName?: string,
  ) {
    const meta = pod.metadata;
    this.uid = meta.uid ?? '';
    this.namespace = meta.namespace ?? '';
    this.name = meta.name ?? '';
    this.key = `${this.namespace}/${this.name}`;
    this.labels = (meta.labels as Labels | undefined) ?? EMPTY_LABELS;
    this.matchKey = matchKeyOf(this.namespace, this.labels);
    this.spec = obj(pod.spec);
    this.priority = typeof this.spec.priority === 'number' ? this.spec.priority : 0;
    this.nodeName = nodeName ?? String(this.spec.nodeName ?? '');
    this.requests = podRequests(this.spec);
    this.nonZeroRequests = podRequests(this.spec, true);
    const affinity = obj(this.spec.affinity);
    const podAffinity = obj(affinity.podAffinity);
    const podAntiAffinity = obj(affinity.podAntiAffinity);
    this.requiredAffinityTerms = required(this.namespace, podAffinity);
    this.requiredAntiAffinityTerms = required(this.namespace, podAntiAffinity);
    this.preferredAffinityTerms = preferred(this.namespace, podAffinity);
    this.preferredAntiAffinityTerms = preferred(this.namespace, podAntiAffinity);
    this.tolerations = tolerationsOf(this.spec);
    this.hostPorts = hostPortsOf(this.spec);
    this.terminating = meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null;
  }

  get hasAffinity(): boolean {
    return (
      this.requiredAffinityTerms.length > 0 ||
      this.requiredAntiAffinityTerms.length > 0 ||
      this.preferredAffinityTerms.length > 0 ||
      this.preferredAntiAffinityTerms.length > 0
    );
  }

  get hasRequiredAntiAffinity(): boolean {
    return this.requiredAntiAffinityTerms.length > 0;
  }

  /** The same pod assumed on a node: shares everything computed, with spec.nodeName set. */
  assumedOn(nodeName: string): PodInformation {
    const copy = Object.create(PodInformation.prototype) as PodInformation;
    Object.assign(copy, this);
    copy.pod = { ...this.pod, spec: { ...this.spec, nodeName } };
    copy.nodeName = nodeName;
    return copy;
  }
}
