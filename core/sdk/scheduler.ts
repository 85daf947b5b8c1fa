/**
 * skiff/sdk/scheduler: writing a scheduler plugin (upstream's scheduling framework, in Skiff's
 * terms). A scheduler plugin is a plain object implementing any of the extension points below; a
 * Skiff plugin offers it with
 *
 *   ctx.provide.service(schedulerPlugin('GpuFirst'), { factory: (args, handle) => gpuFirst(args) });
 *
 * and a KubeSchedulerConfiguration profile turns it on by that name (`plugins: { score: { enabled:
 * [{ name: GpuFirst }] } }`), with its `pluginConfig` args handed to `factory`. The scheduler reads
 * every object it hands a plugin from its own cache: read them, never change them.
 *
 * Success is `undefined` wherever a Status is returned, so the hot paths allocate nothing.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/types.js';
import type { ApiClient } from '../client/types.js';
import { type ServiceKey, serviceKey } from '../plugins/services.js';

/** Upstream's framework.Code. */
export const Code = {
  Success: 0,
  Error: 1,
  /** The node cannot take the pod now; preemption may help. */
  Unschedulable: 2,
  /** The node cannot take the pod, and preempting pods on it would not change that. */
  UnschedulableAndUnresolvable: 3,
  Wait: 4,
  /** The plugin has nothing to do for this pod (PreFilter, PreScore, Bind). */
  Skip: 5,
  /** The pod waits for something other than the cluster's state (a Permit, a gate). */
  Pending: 6,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

export interface Status {
  readonly code: Code;
  /** Why, in upstream's words: each reason is counted per node in the FailedScheduling message. */
  readonly reasons: readonly string[];
  /** The plugin that answered (set by the framework). */
  plugin?: string;
}

export function status(code: Code, ...reasons: string[]): Status {
  return { code, reasons };
}

/** A Status is a rejection when it is neither success (undefined), Skip, nor Wait. */
export function isRejection(s: Status | undefined): boolean {
  return s !== undefined && s.code !== Code.Success && s.code !== Code.Skip && s.code !== Code.Wait;
}

/** Scores plugins give, after normalizing (upstream's MaxNodeScore / MinNodeScore). */
export const MAX_NODE_SCORE = 100;
export const MIN_NODE_SCORE = 0;

/** Amounts the scheduler counts, in upstream's units: millicores, bytes, counts. */
export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** How many pods the node takes (status.allocatable.pods); 0 on a pod's requests. */
  allowedPodNumber: number;
  /** Extended and hugepage resources by name; undefined when there are none. */
  scalar?: Map<string, number>;
}

/** A pod with what the scheduler computed from it once (requests, affinity). */
export interface PodInfo {
  readonly pod: KubeObject;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** spec.priority (0 when unset). */
  readonly priority: number;
  /** spec.nodeName, or the node the scheduler assumed it on. */
  readonly nodeName: string;
  /** Upstream's PodRequests: containers summed, the largest init container, overhead. */
  readonly requests: Readonly<Resource>;
}

/** A node with the pods on it (bound or assumed) and what they use. */
export interface NodeInfo {
  readonly node: KubeObject;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly pods: readonly PodInfo[];
  readonly allocatable: Readonly<Resource>;
  readonly requested: Readonly<Resource>;
  /** Requests with upstream's defaults for containers that give none (100m CPU, 200 MiB). */
  readonly nonZeroRequested: Readonly<Resource>;
}

/**
 * Data a plugin keeps for one scheduling cycle. Give it a `clone` when preemption's what-ifs
 * (addPod/removePod) change it: the copy is changed, never the original.
 */
export interface StateData {
  clone?(): StateData;
}

/** One pod's scheduling cycle: what plugins computed in PreFilter/PreScore for Filter/Score. */
export interface CycleState {
  read<T extends object>(key: string): T | undefined;
  write(key: string, data: object): void;
}

export interface PreFilterResult {
  /** Only these nodes can take the pod (undefined: all). */
  nodeNames?: ReadonlySet<string>;
  status?: Status;
}

export interface PostFilterResult {
  /** The node the pod should wait for (preemption), '' to clear a nomination. */
  nominatedNodeName?: string;
  status?: Status;
}

/** What the scheduler gives plugins: its snapshot of the cluster, its client, its logger. */
export interface SchedulerPluginHandle {
  readonly schedulerName: string;
  readonly logger: Logger;
  /** Acting as the scheduler's identity (system:kube-scheduler); undefined in `simulate`. */
  readonly client?: ApiClient;
  /** Every node, in the order the scheduler visits them. */
  nodeInfos(): readonly NodeInfo[];
  nodeInfo(name: string): NodeInfo | undefined;
  /** Objects of another kind the scheduler watches (namespaces, services, ...). */
  list(
    kind: 'namespaces' | 'services' | 'replicationcontrollers' | 'replicasets' | 'statefulsets',
  ): readonly KubeObject[];
  /** A pod a Permit plugin made wait (upstream's GetWaitingPod); undefined when it does not wait. */
  waitingPod(uid: string): WaitingPod | undefined;
  /** Every pod waiting at Permit, of every profile (upstream's IterateOverWaitingPods). */
  waitingPods(): readonly WaitingPod[];
}

/**
 * A pod held at Permit: it is assumed on its node and its binding waits until every plugin that
 * answered Wait allows it, one rejects it, or a plugin's timeout passes (a rejection).
 */
export interface WaitingPod {
  readonly pod: PodInfo;
  readonly nodeName: string;
  /** The plugins whose allow the pod still waits for. */
  pendingPlugins(): readonly string[];
  /** The plugin no longer holds the pod; the binding goes on once no plugin does. */
  allow(plugin: string): void;
  /** The pod goes back to the queue as unschedulable, with `message` as the reason. */
  reject(plugin: string, message: string): void;
}

/** What may make a pod a plugin rejected schedulable (upstream's ClusterEvent). */
export interface ClusterEvent {
  resource: 'Pod' | 'Node' | 'Namespace' | 'Service' | '*';
  /** Upstream's ActionType names: Add, Delete, Update, UpdateNodeLabel, UpdateNodeTaint, ... */
  actions: readonly string[];
}

/**
 * A scheduler plugin: implement the extension points it acts at. Every method gets the cycle
 * state first. Filter and Score run for many nodes per pod: keep them cheap, and do per-pod work
 * once in PreFilter / PreScore.
 */
export interface SchedulerPlugin {
  readonly name: string;
  /** Before the pod enters the active queue; a rejection parks it until the pod changes. */
  preEnqueue?(pod: PodInfo): Status | undefined;
  /** Queue order: whether `a` should be scheduled before `b` (one QueueSort plugin per scheduler). */
  less?(a: QueuedPod, b: QueuedPod): boolean;
  preFilter?(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): PreFilterResult | undefined;
  /** Preemption's what-if: `podToAdd` now counts on `node` (update what PreFilter computed). */
  addPod?(state: CycleState, pod: PodInfo, podToAdd: PodInfo, node: NodeInfo): Status | undefined;
  removePod?(state: CycleState, pod: PodInfo, podToRemove: PodInfo, node: NodeInfo): Status | undefined;
  filter?(state: CycleState, pod: PodInfo, node: NodeInfo): Status | undefined;
  postFilter?(
    state: CycleState,
    pod: PodInfo,
    filtered: ReadonlyMap<string, Status>,
  ): PostFilterResult | Promise<PostFilterResult>;
  preScore?(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | undefined;
  score?(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** Rescale `scores` (one per node of `nodes`, in place) to 0..MAX_NODE_SCORE. */
  normalizeScore?(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], scores: Float64Array): void;
  reserve?(state: CycleState, pod: PodInfo, nodeName: string): Status | undefined;
  unreserve?(state: CycleState, pod: PodInfo, nodeName: string): void;
  /**
   * Allow (undefined), reject, or Wait with a timeout (at most 15 minutes): the binding waits until
   * the plugin allows the pod through its WaitingPod (handle.waitingPod), rejects it, or time is up.
   */
  permit?(state: CycleState, pod: PodInfo, nodeName: string): { status?: Status; timeoutMs?: number } | undefined;
  preBind?(state: CycleState, pod: PodInfo, nodeName: string): Promise<Status | undefined>;
  /** Write the binding; Skip lets the next bind plugin do it. */
  bind?(state: CycleState, pod: PodInfo, nodeName: string): Promise<Status | undefined>;
  postBind?(state: CycleState, pod: PodInfo, nodeName: string): void;
  /** The cluster events that may make a pod this plugin rejected schedulable again. */
  events?(): readonly ClusterEvent[];
}

/** A pod in the scheduling queue, as QueueSort compares them. */
export interface QueuedPod {
  readonly info: PodInfo;
  /** When it (re)entered the queue (ms since the epoch). */
  readonly timestamp: number;
  readonly attempts: number;
}

/** What a Skiff plugin offers under `schedulerPlugin(name)`. */
export interface SchedulerPluginRegistration {
  /** Builds the plugin for one profile from its pluginConfig args (undefined when none). */
  factory(args: unknown, handle: SchedulerPluginHandle): SchedulerPlugin;
  /** Problems with the args, each a sentence; the scheduler refuses to start on any. */
  validateArgs?(args: unknown): string[];
}

/**
 * The service key a Skiff plugin provides a scheduler plugin under. A profile naming a plugin the
 * scheduler does not have in-tree looks it up here (SKIFF_SCHEDULER_UNKNOWN_PLUGIN when nothing
 * provides it).
 */
export function schedulerPlugin(name: string): ServiceKey<SchedulerPluginRegistration> {
  return serviceKey(`scheduler-plugin:${name}`, `the scheduler plugin ${name}`);
}
