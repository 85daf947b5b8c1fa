/**
 * PodTopologySpread, Filter: for each DoNotSchedule constraint, the pods matching its selector per
 * topology domain are counted once (PreFilter); a node passes when placing the pod there keeps
 * (matches in its domain + the pod itself − the smallest domain's matches) within maxSkew. With
 * fewer eligible domains than minDomains, the smallest count is taken as 0. Score (soft
 * ScheduleAnyway constraints) is in spread-score.ts.
 */
import { Code, status } from 'skiff/sdk/scheduler';
import type { InternalHandle } from '../framework/handle.js';
import type { NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { requiredNodeAffinity } from '../model/selectors.js';
import { objs } from './common.js';
import type { Args, InTreePlugin } from './registry-types.js';
import {
  constraintsFor,
  countMatching,
  hasAllTopologyKeys,
  includesNode,
  type RawConstraint,
  type SpreadConstraint,
  SYSTEM_DEFAULT_CONSTRAINTS,
} from './spread-constraints.js';
import { spreadScoring } from './spread-score.js';

const KEY = 'PreFilterPodTopologySpread';
const NOT_MATCH = "node(s) didn't match pod topology spread constraints";
const SKEW = status(Code.Unschedulable, NOT_MATCH);
const MISSING_LABEL = status(Code.UnschedulableAndUnresolvable, `${NOT_MATCH} (missing required label)`);

class FilterState {
  constructor(
    readonly constraints: SpreadConstraint[],
    /** Per constraint: topology value → matching pods. */
    readonly counts: Map<string, number>[],
  ) {}

  clone(): FilterState {
    return new FilterState(
      this.constraints,
      this.counts.map((m) => new Map(m)),
    );
  }

  /** Per constraint, the smallest domain's count once computed (upstream keeps "critical paths"). */
  private mins: (number | undefined)[] = [];

  /** The smallest domain's count, or 0 while there are fewer domains than minDomains. */
  minMatch(i: number): number {
    const known = this.mins[i];
    if (known !== undefined) return known;
    const m = this.counts[i]!;
    let min = Number.POSITIVE_INFINITY;
    for (const v of m.values()) if (v < min) min = v;
    if (m.size < this.constraints[i]!.minDomains || min === Number.POSITIVE_INFINITY) min = 0;
    this.mins[i] = min;
    return min;
  }

  update(pod: PodInformation, other: PodInformation, node: NodeInformation, delta: number): void {
    if (other.namespace !== pod.namespace || !hasAllTopologyKeys(node, this.constraints)) return;
    const required = requiredNodeAffinity(pod.spec);
    for (let i = 0; i < this.constraints.length; i++) {
      const c = this.constraints[i]!;
      if (!c.selector.matches(other.labels) || !includesNode(c, pod, node, required)) continue;
      const v = node.labels[c.topologyKey]!;
      this.counts[i]!.set(v, (this.counts[i]!.get(v) ?? 0) + delta);
    }
    this.mins = [];
  }
}

function preFilter(handle: InternalHandle, pod: PodInformation, defaults: readonly RawConstraint[]): FilterState {
  const constraints = constraintsFor(pod, 'DoNotSchedule', defaults, handle.listers);
  const s = new FilterState(
    constraints,
    constraints.map(() => new Map()),
  );
  if (constraints.length === 0) return s;
  const required = requiredNodeAffinity(pod.spec);
  for (const node of handle.cache.nodeList()) {
    if (!hasAllTopologyKeys(node, constraints)) continue;
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i]!;
      if (!includesNode(c, pod, node, required)) continue;
      const v = node.labels[c.topologyKey]!;
      const m = s.counts[i]!;
      m.set(v, (m.get(v) ?? 0) + countMatching(node.pods, c.selector, pod.namespace));
    }
  }
  return s;
}

export function spreadDefaults(args: Args): { defaults: RawConstraint[]; systemDefaulted: boolean } {
  const system = (args.defaultingType ?? 'System') === 'System';
  return { defaults: system ? SYSTEM_DEFAULT_CONSTRAINTS : objs(args.defaultConstraints), systemDefaulted: system };
}

export const PodTopologySpread: InTreePlugin = {
  name: 'PodTopologySpread',
  args: {
    kind: 'PodTopologySpreadArgs',
    defaults: () => ({ defaultingType: 'System' }),
    validate: validateSpreadArgs,
  },
  factory(args, handle) {
    const { defaults, systemDefaulted } = spreadDefaults(args);
    return {
      name: 'PodTopologySpread',
      preFilter(state, pod) {
        const s = preFilter(handle, pod as PodInformation, defaults);
        if (s.constraints.length === 0) return { status: status(Code.Skip) };
        state.write(KEY, s);
        return undefined;
      },
      addPod(state, pod, add, node) {
        state.read<FilterState>(KEY)?.update(pod as PodInformation, add as PodInformation, node as NodeInformation, 1);
        return undefined;
      },
      removePod(state, pod, remove, node) {
        state
          .read<FilterState>(KEY)
          ?.update(pod as PodInformation, remove as PodInformation, node as NodeInformation, -1);
        return undefined;
      },
      filter(state, pod, node) {
        const s = state.read<FilterState>(KEY) ?? preFilter(handle, pod as PodInformation, defaults);
        const n = node as NodeInformation;
        for (let i = 0; i < s.constraints.length; i++) {
          const c = s.constraints[i]!;
          const value = n.labels[c.topologyKey];
          if (value === undefined) return MISSING_LABEL;
          const self = c.selector.matches(pod.labels) ? 1 : 0;
          if ((s.counts[i]!.get(value) ?? 0) + self - s.minMatch(i) > c.maxSkew) return SKEW;
        }
        return undefined;
      },
      ...spreadScoring(handle, defaults, systemDefaulted),
      events: () => [
        { resource: 'Pod', actions: ['Add', 'UpdatePodLabel', 'Delete'] },
        { resource: 'Node', actions: ['Add', 'Delete', 'UpdateNodeLabel', 'UpdateNodeTaint'] },
      ],
    };
  },
};

const ACTIONS = ['DoNotSchedule', 'ScheduleAnyway'];

/** Upstream's ValidatePodTopologySpreadArgs. */
function validateSpreadArgs(args: Args): string[] {
  const errs: string[] = [];
  const type = args.defaultingType ?? 'System';
  if (type !== 'System' && type !== 'List') {
    errs.push(`defaultingType: Unsupported value: ${JSON.stringify(type)}: supported values: "List", "System"`);
  }
  const constraints = objs(args.defaultConstraints);
  if (type === 'System' && constraints.length > 0) {
    errs.push(
      'defaultConstraints: Invalid value: "": when .defaultingType is "System", .defaultConstraints must be empty',
    );
  }
  const seen = new Set<string>();
  constraints.forEach((c, i) => {
    const at = `defaultConstraints[${i}]`;
    if (!(Number(c.maxSkew) > 0)) errs.push(`${at}.maxSkew: Invalid value: ${c.maxSkew}: must be greater than zero`);
    if (!c.topologyKey) errs.push(`${at}.topologyKey: Required value: can not be empty`);
    if (!ACTIONS.includes(String(c.whenUnsatisfiable))) {
      errs.push(
        `${at}.whenUnsatisfiable: Unsupported value: ${JSON.stringify(c.whenUnsatisfiable ?? '')}: supported values: "DoNotSchedule", "ScheduleAnyway"`,
      );
    }
    const pair = `${c.topologyKey}/${c.whenUnsatisfiable}`;
    if (seen.has(pair)) errs.push(`${at}: Duplicate value: "{${c.topologyKey} ${c.whenUnsatisfiable}}"`);
    seen.add(pair);
    if (c.labelSelector !== undefined)
      errs.push(`${at}.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod`);
  });
  return errs;
}
