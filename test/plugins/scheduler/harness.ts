/**
 * Plugins under test without an API server: a scheduler component built from a
 * KubeSchedulerConfiguration (no client), its cache filled with nodes and bound pods, and the
 * extension points of one plugin run as the framework runs them (PreFilter Skip means Filter is
 * not asked; PreScore Skip means no score).
 */
import { pino } from 'pino';
import type { KubeObject } from '../../../core/api/types.js';
import type { Status } from '../../../core/sdk/scheduler.js';
import { Code } from '../../../core/sdk/scheduler.js';
import { SchedulerComponent } from '../../../plugins/scheduler-default/component/component.js';
import { schedulerConfigurationFrom } from '../../../plugins/scheduler-default/config/configuration.js';
import type { ExternalLookup } from '../../../plugins/scheduler-default/config/profiles.js';
import { SchedulingCycleState } from '../../../plugins/scheduler-default/framework/cycle-state.js';
import type { ListedKind, Listers } from '../../../plugins/scheduler-default/framework/handle.js';
import type { NodeInformation } from '../../../plugins/scheduler-default/model/node-info.js';
import { PodInformation } from '../../../plugins/scheduler-default/model/pod-info.js';

/** Test data written as the API would hold it: JSON of any shape. */
export type JsonValue = string | number | boolean | null | undefined | JsonValue[] | Json;
export interface Json {
  [key: string]: JsonValue;
}

let uid = 0;

/** A pod as the API would hold it: namespace, uid, schedulerName filled in. */
export function makePod(name: string, spec: Json = {}, meta: Json = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}-${++uid}`, ...meta },
    spec: { schedulerName: 'default-scheduler', priority: 0, containers: [], ...spec },
  } as KubeObject;
}

/** Containers requesting each of `requests` (upstream's st.MakePod().Req(...).Req(...)). */
export function withRequests(...requests: Json[]): Json {
  return { containers: requests.map((r, i) => ({ name: `c${i}`, image: 'pause', resources: { requests: r } })) };
}

export function makeNode(
  name: string,
  o: { allocatable?: Json; labels?: Json; taints?: Json[]; unschedulable?: boolean; images?: Json[] } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: o.labels ?? {} },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable: { pods: '110', ...o.allocatable }, ...(o.images ? { images: o.images } : {}) },
  } as KubeObject;
}

class TestListers implements Listers {
  constructor(private readonly objects: Partial<Record<ListedKind, KubeObject[]>>) {}
  list(kind: ListedKind): readonly KubeObject[] {
    return this.objects[kind] ?? [];
  }
  get(kind: ListedKind, namespace: string, name: string): KubeObject | undefined {
    return this.list(kind).find((o) => (o.metadata.namespace ?? '') === namespace && o.metadata.name === name);
  }
}

export interface Harness {
  component: SchedulerComponent;
  info(pod: KubeObject): PodInformation;
  node(name: string): NodeInformation;
  /** The plugin's Filter verdict for the pod on each node (PreFilter first, as the framework runs it). */
  filter(plugin: string, pod: KubeObject, nodes?: string[]): (Status | undefined)[];
  /** The plugin's normalized scores for the pod on the nodes; undefined when PreScore skipped. */
  score(plugin: string, pod: KubeObject, nodes?: string[]): number[] | undefined;
}

export interface HarnessOptions {
  nodes: KubeObject[];
  /** Pods bound to nodes (spec.nodeName set). */
  pods?: KubeObject[];
  /** pluginConfig of the default profile. */
  pluginConfig?: { name: string; args: Json }[];
  /** The whole KubeSchedulerConfiguration document instead. */
  config?: Json;
  listers?: Partial<Record<ListedKind, KubeObject[]>>;
  external?: ExternalLookup;
}

export function harness(o: HarnessOptions): Harness {
  const doc = o.config ?? {
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    profiles: [{ schedulerName: 'default-scheduler', pluginConfig: o.pluginConfig ?? [] }],
  };
  const component = new SchedulerComponent({
    logger: pino({ level: 'silent' }),
    config: schedulerConfigurationFrom(doc, '(test)'),
    external: o.external ?? (() => undefined),
  });
  component.listers.inner = new TestListers(o.listers ?? {});
  for (const n of o.nodes) component.cache.addNode(n);
  for (const p of o.pods ?? []) component.cache.addOrUpdatePod(p);
  const fwk = component.frameworks.get('default-scheduler')!;
  const names = (nodes?: string[]) => nodes ?? o.nodes.map((n) => n.metadata.name!);
  const plugin = (name: string) => {
    const p = fwk.plugins.get(name);
    if (!p) throw new Error(`no plugin ${name} in the profile`);
    return p;
  };
  const node = (name: string) => component.cache.nodes.get(name)!;
  return {
    component,
    info: (pod) => new PodInformation(pod),
    node,
    filter(name, pod, nodes) {
      const p = plugin(name);
      const info = new PodInformation(pod);
      const state = new SchedulingCycleState();
      const pre = p.preFilter?.(state, info, component.cache.nodeList());
      if (pre?.status?.code === Code.Skip) return names(nodes).map(() => undefined);
      if (pre?.status) return names(nodes).map(() => pre.status);
      return names(nodes).map((n) =>
        pre?.nodeNames && !pre.nodeNames.has(n)
          ? { code: Code.UnschedulableAndUnresolvable, reasons: ['not in PreFilter result'] }
          : p.filter!(state, info, node(n)),
      );
    },
    score(name, pod, nodes) {
      const p = plugin(name);
      const info = new PodInformation(pod);
      const state = new SchedulingCycleState();
      const list = names(nodes).map(node);
      const pre = p.preScore?.(state, info, list);
      if (pre?.code === Code.Skip) return undefined;
      const scores = Float64Array.from(list.map((n) => p.score!(state, info, n)));
      p.normalizeScore?.(state, info, list, scores);
      return [...scores];
    },
  };
}

/** A pod bound to a node (the cache's view of running pods). */
export function boundPod(name: string, node: string, spec: Json = {}, meta: Json = {}): KubeObject {
  return makePod(name, { ...spec, nodeName: node }, meta);
}

export const reasonsOf = (statuses: (Status | undefined)[]) => statuses.map((s) => (s ? s.reasons.join(', ') : 'fits'));
export const codesOf = (statuses: (Status | undefined)[]) => statuses.map((s) => s?.code ?? Code.Success);
