/**
 * Cluster events and the plugins that care about them (upstream's ClusterEvent and
 * EventsToRegister): a parked pod is moved when an event happens that one of the plugins which
 * rejected it registered. Node and pod updates are classified by what changed (labels, taints,
 * allocatable, ...), so a heartbeat does not wake pods waiting for more CPU.
 */
import type { KubeObject } from 'skiff/sdk';
import type { ClusterEvent, SchedulerPlugin } from 'skiff/sdk/scheduler';

export interface ClusterEventOf {
  resource: ClusterEvent['resource'];
  /** Add, Delete, or the Update* actions the change amounts to. */
  actions: readonly string[];
}

/** Plugin name → the events it registered (from every profile). */
export type Registrations = Map<string, readonly ClusterEvent[]>;

export function registrationsOf(plugins: Iterable<SchedulerPlugin>): Registrations {
  const out: Registrations = new Map();
  for (const p of plugins) if (p.events && !out.has(p.name)) out.set(p.name, p.events());
  return out;
}

function actionMatches(registered: readonly string[], actions: readonly string[]): boolean {
  for (const r of registered) {
    if (r === 'All') return true;
    for (const a of actions) {
      if (r === a) return true;
      if (r === 'Update' && a.startsWith('Update')) return true;
    }
  }
  return false;
}

/** Whether the event concerns any of the plugins; a pod no plugin rejected moves on any event. */
export function eventMatches(
  registrations: Registrations,
  unschedulable: ReadonlySet<string>,
  pending: ReadonlySet<string>,
  event: ClusterEventOf,
): boolean {
  if (unschedulable.size === 0 && pending.size === 0) return true;
  for (const plugin of [...unschedulable, ...pending]) {
    const events = registrations.get(plugin);
    // A plugin that registered nothing may be satisfied by anything.
    if (!events) return true;
    for (const e of events) {
      if ((e.resource === event.resource || e.resource === '*') && actionMatches(e.actions, event.actions)) return true;
    }
  }
  return false;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** What a node update changed, in upstream's action names (none: nothing scheduling reads). */
export function nodeUpdateActions(old: KubeObject, node: KubeObject): string[] {
  const actions: string[] = [];
  const [os, ns] = [obj(old.spec), obj(node.spec)];
  const [ost, nst] = [obj(old.status), obj(node.status)];
  if (!same(ost.allocatable, nst.allocatable)) actions.push('UpdateNodeAllocatable');
  if (!same(old.metadata.labels, node.metadata.labels)) actions.push('UpdateNodeLabel');
  if (!same(os.taints, ns.taints) || os.unschedulable !== ns.unschedulable) actions.push('UpdateNodeTaint');
  const conditions = (s: Obj) =>
    Array.isArray(s.conditions) ? s.conditions.map((c) => `${obj(c).type}=${obj(c).status}`) : [];
  if (!same(conditions(ost), conditions(nst))) actions.push('UpdateNodeCondition');
  if (!same(old.metadata.annotations, node.metadata.annotations)) actions.push('UpdateNodeAnnotation');
  return actions;
}

/** The pod without what does not make it schedulable: status and write bookkeeping. */
function schedulingRelevant(pod: KubeObject): string {
  const { status: _status, metadata, ...rest } = pod;
  const { resourceVersion: _rv, generation: _g, managedFields: _mf, finalizers: _f, ...meta } = metadata;
  return JSON.stringify({ ...rest, metadata: meta });
}

/**
 * Upstream's isPodUpdated: whether a pending pod changed in more than its status and bookkeeping.
 * The scheduler's own PodScheduled condition is no reason to try a parked pod again.
 */
export function podChanged(old: KubeObject, pod: KubeObject): boolean {
  return old !== pod && schedulingRelevant(old) !== schedulingRelevant(pod);
}

/** What an assigned pod's update changed that could free room or change affinity matches. */
export function podUpdateActions(old: KubeObject, pod: KubeObject): string[] {
  const actions: string[] = [];
  if (!same(old.metadata.labels, pod.metadata.labels)) actions.push('UpdatePodLabel');
  if (!same(obj(old.spec).tolerations, obj(pod.spec).tolerations)) actions.push('UpdatePodTolerations');
  const phase = obj(pod.status).phase;
  if (phase !== obj(old.status).phase && (phase === 'Succeeded' || phase === 'Failed'))
    actions.push('UpdatePodScaleDown');
  return actions;
}
