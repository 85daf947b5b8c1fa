/**
 * One profile's framework: its plugins at each extension point, run in upstream's order and with
 * upstream's rules (a PreFilter Skip skips that plugin's Filter; Filter stops at the first
 * rejection; scores are normalized, then weighted; Reserve failures unreserve everything; the
 * first Bind plugin that does not Skip binds). The scheduling algorithm (../scheduler/) drives it.
 */
import {
  Code,
  isRejection,
  MAX_NODE_SCORE,
  MIN_NODE_SCORE,
  type PostFilterResult,
  type PreFilterResult,
  type QueuedPod,
  type SchedulerPlugin,
  type Status,
  status,
} from 'skiff/sdk/scheduler';
import type { NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import type { SchedulingCycleState } from './cycle-state.js';
import type { Nominator } from './nominator.js';

export const EXTENSION_POINTS = [
  'preEnqueue',
  'queueSort',
  'preFilter',
  'filter',
  'postFilter',
  'preScore',
  'score',
  'reserve',
  'permit',
  'preBind',
  'bind',
  'postBind',
] as const;
export type ExtensionPoint = (typeof EXTENSION_POINTS)[number];

/** The method a plugin implements to act at each extension point. */
export const POINT_METHOD: Record<ExtensionPoint, keyof SchedulerPlugin> = {
  preEnqueue: 'preEnqueue',
  queueSort: 'less',
  preFilter: 'preFilter',
  filter: 'filter',
  postFilter: 'postFilter',
  preScore: 'preScore',
  score: 'score',
  reserve: 'reserve',
  permit: 'permit',
  preBind: 'preBind',
  bind: 'bind',
  postBind: 'postBind',
};

export interface ProfileSpec {
  schedulerName: string;
  percentageOfNodesToScore?: number;
  points: Record<ExtensionPoint, SchedulerPlugin[]>;
  weights: Map<string, number>;
  /** Every plugin instance of the profile, by name. */
  plugins: Map<string, SchedulerPlugin>;
}

/** A score plugin's view of one cycle: raw, normalized and weighted scores (for `simulate`). */
export interface PluginScores {
  plugin: string;
  weight: number;
  raw: Float64Array;
  normalized: Float64Array;
}

const withPlugin = (s: Status, plugin: string): Status => ({ ...s, plugin });

/** A Filter verdict that is not success: a rejection as it is, anything else an Error. */
function rejectedBy(s: Status, plugin: string): Status {
  if (!isRejection(s))
    return withPlugin(status(Code.Error, `running "${plugin}" filter plugin: ${s.reasons.join(', ')}`), plugin);
  let t = tagged.get(s);
  if (t?.plugin !== plugin) {
    t = withPlugin(s, plugin);
    tagged.set(s, t);
  }
  return t;
}

/** Plugin-tagged copies of the Status objects plugins return (most are constants): no copy per node. */
const tagged = new WeakMap<Status, Status>();
const errorStatus = (plugin: string, err: unknown): Status =>
  withPlugin(status(Code.Error, `running ${plugin}: ${(err as Error)?.message ?? String(err)}`), plugin);

export class Framework {
  readonly schedulerName: string;
  readonly percentageOfNodesToScore?: number;
  readonly points: Record<ExtensionPoint, SchedulerPlugin[]>;
  readonly weights: Map<string, number>;
  readonly plugins: Map<string, SchedulerPlugin>;
  /** Set by the scheduler: pods nominated to nodes, which Filter must leave room for. */
  nominator?: Nominator;

  constructor(spec: ProfileSpec) {
    this.schedulerName = spec.schedulerName;
    this.percentageOfNodesToScore = spec.percentageOfNodesToScore;
    this.points = spec.points;
    this.weights = spec.weights;
    this.plugins = spec.plugins;
  }

  get hasFilterPlugins(): boolean {
    return this.points.filter.length > 0;
  }

  get hasScorePlugins(): boolean {
    return this.points.score.length > 0;
  }

  get hasPostFilterPlugins(): boolean {
    return this.points.postFilter.length > 0;
  }

  less(a: QueuedPod, b: QueuedPod): boolean {
    return this.points.queueSort[0]!.less!(a, b);
  }

  runPreEnqueue(pod: PodInformation): Status | undefined {
    for (const p of this.points.preEnqueue) {
      const s = p.preEnqueue!(pod);
      if (s && s.code !== Code.Success) return withPlugin(s, p.name);
    }
    return undefined;
  }

  /**
   * PreFilter: every plugin runs (an Unschedulable one does not stop the others, so preemption
   * can use what they computed; UnschedulableAndUnresolvable does). The node sets plugins return
   * are intersected; an empty intersection rejects every node.
   */
  runPreFilter(
    state: SchedulingCycleState,
    pod: PodInformation,
    nodes: readonly NodeInformation[],
  ): { nodeNames?: Set<string>; status?: Status; narrowedBy: string[] } {
    let nodeNames: Set<string> | undefined;
    let rejected: Status | undefined;
    const narrowedBy: string[] = [];
    const skip = new Set<string>();
    for (const p of this.points.preFilter) {
      let r: PreFilterResult | undefined;
      try {
        r = p.preFilter!(state, pod, nodes);
      } catch (err) {
        return { status: errorStatus(p.name, err), narrowedBy };
      }
      const s = r?.status;
      if (s?.code === Code.Skip) {
        skip.add(p.name);
        continue;
      }
      if (s && s.code !== Code.Success) {
        if (s.code === Code.UnschedulableAndUnresolvable) return { status: withPlugin(s, p.name), narrowedBy };
        if (s.code === Code.Unschedulable) {
          rejected = withPlugin(s, p.name);
          continue;
        }
        return {
          status: withPlugin(
            status(Code.Error, `running PreFilter plugin "${p.name}": ${s.reasons.join(', ')}`),
            p.name,
          ),
          narrowedBy,
        };
      }
      if (r?.nodeNames) {
        narrowedBy.push(p.name);
        nodeNames = nodeNames ? new Set([...nodeNames].filter((n) => r.nodeNames!.has(n))) : new Set(r.nodeNames);
        if (nodeNames.size === 0) {
          const msg =
            narrowedBy.length === 1
              ? `node(s) didn't satisfy plugin ${narrowedBy[0]}`
              : `node(s) didn't satisfy plugin(s) [${narrowedBy.join(' ')}] simultaneously`;
          return { nodeNames, status: status(Code.UnschedulableAndUnresolvable, msg), narrowedBy };
        }
      }
    }
    state.skipFilterPlugins = skip;
    state.filters = undefined;
    return { nodeNames, status: rejected, narrowedBy };
  }

  /** Filter: the first plugin that rejects the node answers (plugin set on the Status). */
  runFilter(state: SchedulingCycleState, pod: PodInformation, node: NodeInformation): Status | undefined {
    const filters = state.filters ?? this.activeFilters(state);
    for (let i = 0; i < filters.length; i++) {
      const p = filters[i]!;
      let s: Status | undefined;
      try {
        s = p.filter!(state, pod, node);
      } catch (err) {
        return errorStatus(p.name, err);
      }
      if (s !== undefined && s.code !== Code.Success) return rejectedBy(s, p.name);
    }
    return undefined;
  }

  /** The Filter plugins this cycle runs (PreFilter's Skips left out), worked out once per pod. */
  private activeFilters(state: SchedulingCycleState): SchedulerPlugin[] {
    const skip = state.skipFilterPlugins;
    state.filters = skip.size ? this.points.filter.filter((p) => !skip.has(p.name)) : this.points.filter;
    return state.filters;
  }

  /**
   * Filter with the pods nominated to this node of equal or higher priority counted as running,
   * then (when that passes) without them: the pod must fit both ways, as upstream decides.
   */
  runFilterWithNominatedPods(
    state: SchedulingCycleState,
    pod: PodInformation,
    node: NodeInformation,
  ): Status | undefined {
    if (!this.nominator || this.nominator.empty) return this.runFilter(state, pod, node);
    const nominated = this.nominator.onNode(node.name);
    if (!nominated) return this.runFilter(state, pod, node);
    const higher = nominated.filter((p) => p.uid !== pod.uid && p.priority >= pod.priority);
    if (higher.length === 0) return this.runFilter(state, pod, node);
    const nodeCopy = node.clone();
    const stateCopy = state.clone();
    for (const p of higher) {
      const assumed = p.nodeName === node.name ? p : p.assumedOn(node.name);
      nodeCopy.addPod(assumed);
      const s = this.runAddPod(stateCopy, pod, assumed, nodeCopy);
      if (s) return s;
    }
    const withNominated = this.runFilter(stateCopy, pod, nodeCopy);
    if (withNominated) return withNominated;
    return this.runFilter(state, pod, node);
  }

  runAddPod(
    state: SchedulingCycleState,
    pod: PodInformation,
    add: PodInformation,
    node: NodeInformation,
  ): Status | undefined {
    for (const p of this.points.preFilter) {
      if (!p.addPod || state.skipFilterPlugins.has(p.name)) continue;
      const s = p.addPod(state, pod, add, node);
      if (s && s.code !== Code.Success) return withPlugin(s, p.name);
    }
    return undefined;
  }

  runRemovePod(
    state: SchedulingCycleState,
    pod: PodInformation,
    remove: PodInformation,
    node: NodeInformation,
  ): Status | undefined {
    for (const p of this.points.preFilter) {
      if (!p.removePod || state.skipFilterPlugins.has(p.name)) continue;
      const s = p.removePod(state, pod, remove, node);
      if (s && s.code !== Code.Success) return withPlugin(s, p.name);
    }
    return undefined;
  }

  /** PostFilter (preemption): the first plugin that succeeds wins; otherwise their reasons, joined. */
  async runPostFilter(
    state: SchedulingCycleState,
    pod: PodInformation,
    statuses: ReadonlyMap<string, Status>,
  ): Promise<PostFilterResult> {
    const reasons: string[] = [];
    let result: PostFilterResult = {};
    for (const p of this.points.postFilter) {
      let r: PostFilterResult;
      try {
        r = await p.postFilter!(state, pod, statuses);
      } catch (err) {
        return { status: errorStatus(p.name, err) };
      }
      if (!r.status || r.status.code === Code.Success) return r;
      if (r.status.code === Code.Error) return { ...r, status: withPlugin(r.status, p.name) };
      reasons.push(...r.status.reasons);
      if (r.nominatedNodeName !== undefined) result = r;
    }
    return { ...result, status: status(Code.Unschedulable, ...reasons) };
  }

  /** PreScore: plugins that Skip are not asked to Score this pod. */
  runPreScore(state: SchedulingCycleState, pod: PodInformation, nodes: readonly NodeInformation[]): Status | undefined {
    const skip = new Set<string>();
    for (const p of this.points.preScore) {
      let s: Status | undefined;
      try {
        s = p.preScore!(state, pod, nodes);
      } catch (err) {
        return errorStatus(p.name, err);
      }
      if (s?.code === Code.Skip) skip.add(p.name);
      else if (s && s.code !== Code.Success) return withPlugin(s, p.name);
    }
    state.skipScorePlugins = skip;
    return undefined;
  }

  /**
   * Score, NormalizeScore and weights: the total per node (in `nodes` order). With `breakdown`,
   * each plugin's raw and normalized scores are kept too.
   */
  runScore(
    state: SchedulingCycleState,
    pod: PodInformation,
    nodes: readonly NodeInformation[],
    breakdown?: PluginScores[],
  ): Float64Array {
    // Kept across cycles like the per-plugin buffer; `explain` (simulate) gets a copy.
    const totals = this.totalsBuffer(nodes.length);
    const scores = this.scoreBuffer(nodes.length);
    for (const p of this.points.score) {
      if (state.skipScorePlugins.has(p.name)) continue;
      for (let i = 0; i < nodes.length; i++) scores[i] = p.score!(state, pod, nodes[i]!);
      const raw = breakdown ? scores.slice() : scores;
      p.normalizeScore?.(state, pod, nodes, scores);
      const weight = this.weights.get(p.name) ?? 1;
      for (let i = 0; i < nodes.length; i++) {
        const s = scores[i]!;
        if (s > MAX_NODE_SCORE || s < MIN_NODE_SCORE || Number.isNaN(s)) {
          throw new Error(
            `plugin "${p.name}" returns an invalid score ${s}, it should in the range of [${MIN_NODE_SCORE}, ${MAX_NODE_SCORE}] after normalizing`,
          );
        }
        totals[i]! += s * weight;
      }
      breakdown?.push({ plugin: p.name, weight, raw, normalized: scores.slice() });
    }
    return totals;
  }

  private totals = new Float64Array(0);
  private totalsBuffer(n: number): Float64Array {
    if (this.totals.length < n) this.totals = new Float64Array(Math.max(n, this.totals.length * 2));
    const t = this.totals.subarray(0, n);
    t.fill(0);
    return t;
  }

  /** One plugin's scores at a time, in a buffer kept across cycles (no garbage per pod). */
  private scores = new Float64Array(0);
  private scoreBuffer(n: number): Float64Array {
    if (this.scores.length < n) this.scores = new Float64Array(Math.max(n, this.scores.length * 2));
    return this.scores.subarray(0, n);
  }

  /** Reserve in order; on a failure, Unreserve every reserve plugin in reverse order. */
  runReserve(state: SchedulingCycleState, pod: PodInformation, node: string): Status | undefined {
    for (const p of this.points.reserve) {
      let s: Status | undefined;
      try {
        s = p.reserve!(state, pod, node);
      } catch (err) {
        s = errorStatus(p.name, err);
      }
      if (s && s.code !== Code.Success) {
        this.runUnreserve(state, pod, node);
        return withPlugin(s, p.name);
      }
    }
    return undefined;
  }

  runUnreserve(state: SchedulingCycleState, pod: PodInformation, node: string): void {
    for (const p of [...this.points.reserve].reverse()) {
      try {
        p.unreserve?.(state, pod, node);
      } catch {
        // Unreserve must not fail; a broken plugin cannot stop the others from cleaning up.
      }
    }
  }

  /** Permit: a rejection, or how long each plugin that answered Wait holds the pod (empty: allowed). */
  runPermit(
    state: SchedulingCycleState,
    pod: PodInformation,
    node: string,
  ): { status?: Status; waits: Map<string, number> } {
    const waits = new Map<string, number>();
    for (const p of this.points.permit) {
      const r = p.permit!(state, pod, node);
      const s = r?.status;
      if (!s || s.code === Code.Success) continue;
      if (s.code === Code.Wait) waits.set(p.name, r?.timeoutMs ?? 0);
      else if (isRejection(s) && s.code !== Code.Error) return { status: withPlugin(s, p.name), waits };
      else {
        const error = status(Code.Error, `running Permit plugin "${p.name}": ${s.reasons.join(', ')}`);
        return { status: withPlugin(error, p.name), waits };
      }
    }
    return { waits };
  }

  async runPreBind(state: SchedulingCycleState, pod: PodInformation, node: string): Promise<Status | undefined> {
    for (const p of this.points.preBind) {
      const s = await p.preBind!(state, pod, node);
      if (s && s.code !== Code.Success && s.code !== Code.Skip) return withPlugin(s, p.name);
    }
    return undefined;
  }

  /** Bind: the first plugin that does not Skip; its failure, as upstream words it. A 409 is rethrown (see the scheduler). */
  async runBind(state: SchedulingCycleState, pod: PodInformation, node: string): Promise<Status | undefined> {
    for (const p of this.points.bind) {
      let s: Status | undefined;
      try {
        s = await p.bind!(state, pod, node);
      } catch (err) {
        if ((err as { code?: number }).code === 409) throw err;
        s = status(Code.Error, (err as Error).message);
      }
      if (s?.code === Code.Skip) continue;
      if (!s || s.code === Code.Success) return undefined;
      return withPlugin(status(Code.Error, `running Bind plugin "${p.name}": ${s.reasons.join(', ')}`), p.name);
    }
    return status(Code.Error, 'every bind plugin skipped the pod');
  }

  runPostBind(state: SchedulingCycleState, pod: PodInformation, node: string): void {
    for (const p of this.points.postBind) {
      try {
        p.postBind!(state, pod, node);
      } catch {
        // Informational: the pod is bound whatever a PostBind plugin does.
      }
    }
  }
}
