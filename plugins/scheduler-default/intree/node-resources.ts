/**
 * NodeResourcesFit: Filter refuses a node whose allocatable (pods count included) cannot take the
 * pod's requests on top of what its pods request ("Insufficient cpu", "Too many pods"); Score
 * ranks nodes by the configured strategy. NodeResourcesBalancedAllocation: Score prefers nodes
 * whose resources stay evenly used.
 */
import { Code, type Status, status } from 'skiff/sdk/scheduler';
import { NOT_REMEMBERED, type NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { isExtendedResource } from '../model/resource.js';
import { obj, objs } from './common.js';
import type { Args, InTreePlugin } from './registry-types.js';
import {
  balanced,
  leastAllocated,
  mostAllocated,
  podRequestList,
  ResourceScorer,
  type ResourceSpec,
  requestedToCapacityRatio,
  type ShapePoint,
} from './resource-allocation.js';

const DEFAULT_RESOURCES: ResourceSpec[] = [
  { name: 'cpu', weight: 1 },
  { name: 'memory', weight: 1 },
];
const STRATEGIES = ['LeastAllocated', 'MostAllocated', 'RequestedToCapacityRatio'];
const TOO_MANY_PODS = 'Too many pods';
const NO_NAMES: ReadonlySet<string> = new Set();

const insufficient = new Map<string, string>();
const insufficientReason = (name: string) => {
  let r = insufficient.get(name);
  if (!r) {
    r = `Insufficient ${name}`;
    insufficient.set(name, r);
  }
  return r;
};

/** Upstream's fitsRequest: every reason the node cannot take the pod (none: it fits). No closures: it runs per node. */
export function insufficientResources(
  pod: PodInformation,
  node: NodeInformation,
  ignored: ReadonlySet<string> = NO_NAMES,
  ignoredGroups: ReadonlySet<string> = NO_NAMES,
): string[] | undefined {
  let reasons: string[] | undefined;
  if (node.pods.length + 1 > node.allocatable.allowedPodNumber) reasons = [TOO_MANY_PODS];
  const want = pod.requests;
  const alloc = node.allocatable;
  const used = node.requested;
  if (want.milliCPU > 0 && want.milliCPU > alloc.milliCPU - used.milliCPU)
    reasons = withReason(reasons, 'Insufficient cpu');
  if (want.memory > 0 && want.memory > alloc.memory - used.memory) reasons = withReason(reasons, 'Insufficient memory');
  if (want.ephemeralStorage > 0 && want.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
    reasons = withReason(reasons, 'Insufficient ephemeral-storage');
  }
  if (want.scalar) reasons = insufficientScalars(want.scalar, node, ignored, ignoredGroups, reasons);
  return reasons;
}

function insufficientScalars(
  want: ReadonlyMap<string, number>,
  node: NodeInformation,
  ignored: ReadonlySet<string>,
  ignoredGroups: ReadonlySet<string>,
  reasons: string[] | undefined,
): string[] | undefined {
  for (const [name, q] of want) {
    if (q === 0) continue;
    if (isExtendedResource(name) && (ignored.has(name) || ignoredGroups.has(name.split('/')[0]!))) continue;
    if (q > (node.allocatable.scalar?.get(name) ?? 0) - (node.requested.scalar?.get(name) ?? 0)) {
      reasons = withReason(reasons, insufficientReason(name));
    }
  }
  return reasons;
}

function withReason(reasons: string[] | undefined, reason: string): string[] {
  if (!reasons) return [reason];
  reasons.push(reason);
  return reasons;
}

/** The pod's requests as text, worked out once per pod: Filter asks for every node. */
function requestKeys(): (pod: PodInformation) => string {
  let last: PodInformation | undefined;
  let key = '';
  return (pod) => {
    if (pod === last) return key;
    last = pod;
    const r = pod.requests;
    key = `${r.milliCPU},${r.memory},${r.ephemeralStorage}`;
    if (r.scalar) for (const [name, q] of r.scalar) key += `,${name}=${q}`;
    return key;
  };
}

/**
 * Score's request list for this cycle: read from the cycle state once per pod rather than once per
 * node, and made when PreScore did not run (a caller scoring one node).
 */
function requestsFor(key: string, make: (pod: PodInformation) => number[]) {
  let lastState: object | undefined;
  let requests: number[] = [];
  return (state: { read<T extends object>(k: string): T | undefined }, pod: PodInformation): number[] => {
    if (state === lastState) return requests;
    lastState = state;
    requests = state.read<{ requests: number[] }>(key)?.requests ?? make(pod);
    return requests;
  };
}

const statusCache = new Map<string, Status>();
function unschedulable(reasons: string[]): Status {
  const key = reasons.join('\u0000');
  let s = statusCache.get(key);
  if (!s) {
    s = status(Code.Unschedulable, ...reasons);
    statusCache.set(key, s);
  }
  return s;
}

function resourcesOf(value: unknown): ResourceSpec[] {
  const list = objs(value).map((r) => ({ name: String(r.name ?? ''), weight: Number(r.weight ?? 1) }));
  return list.length ? list : DEFAULT_RESOURCES;
}

function scorerOf(args: Args): ResourceScorer {
  const strategy = obj(args.scoringStrategy);
  const resources = resourcesOf(strategy.resources);
  if (strategy.type === 'MostAllocated') return new ResourceScorer(resources, mostAllocated(resources), false);
  if (strategy.type === 'RequestedToCapacityRatio') {
    const shape = objs(obj(strategy.requestedToCapacityRatio).shape).map((p) => ({
      utilization: Number(p.utilization),
      score: Number(p.score),
    })) as ShapePoint[];
    return new ResourceScorer(resources, requestedToCapacityRatio(resources, shape), false);
  }
  return new ResourceScorer(resources, leastAllocated(resources), false);
}

const FIT_KEY = 'PreScoreNodeResourcesFit';

export const NodeResourcesFit: InTreePlugin = {
  name: 'NodeResourcesFit',
  args: {
    kind: 'NodeResourcesFitArgs',
    defaults: () => ({ scoringStrategy: { type: 'LeastAllocated', resources: DEFAULT_RESOURCES } }),
    validate: validateFitArgs,
  },
  factory(args) {
    const ignored = new Set((Array.isArray(args.ignoredResources) ? args.ignoredResources : []).map(String));
    const ignoredGroups = new Set(
      (Array.isArray(args.ignoredResourceGroups) ? args.ignoredResourceGroups : []).map(String),
    );
    const scorer = scorerOf(args);
    const resources = scorer.resources;
    const keyOf = requestKeys();
    // The verdict depends only on the node and the pod's requests: remembered until the node changes.
    const verdicts = {};
    const requests = requestsFor(FIT_KEY, (pod) => podRequestList(pod, resources, false));
    return {
      name: 'NodeResourcesFit',
      filter(_state, pod, node) {
        const n = node as NodeInformation;
        const key = keyOf(pod as PodInformation);
        const known = n.recall(verdicts, key);
        if (known !== NOT_REMEMBERED) return known as Status | undefined;
        const reasons = insufficientResources(pod as PodInformation, n, ignored, ignoredGroups);
        const verdict = reasons ? unschedulable(reasons) : undefined;
        n.remember(verdicts, key, verdict);
        return verdict;
      },
      preScore(state, pod) {
        state.write(FIT_KEY, { requests: scorer.intern(podRequestList(pod as PodInformation, resources, false)) } as {
          requests: number[];
        });
        return undefined;
      },
      score(state, pod, node) {
        return scorer.score(node as NodeInformation, requests(state, pod as PodInformation));
      },
      events: () => [
        { resource: 'Pod', actions: ['Delete'] },
        { resource: 'Node', actions: ['Add', 'UpdateNodeAllocatable', 'UpdateNodeTaint', 'UpdateNodeLabel'] },
      ],
    };
  },
};

const BALANCED_KEY = 'PreScoreNodeResourcesBalancedAllocation';

export const NodeResourcesBalancedAllocation: InTreePlugin = {
  name: 'NodeResourcesBalancedAllocation',
  args: {
    kind: 'NodeResourcesBalancedAllocationArgs',
    defaults: () => ({ resources: DEFAULT_RESOURCES }),
    validate: validateBalancedArgs,
  },
  factory(args) {
    const resources = resourcesOf(args.resources);
    const scorer = new ResourceScorer(resources, balanced, true);
    const requests = requestsFor(BALANCED_KEY, (pod) => podRequestList(pod, resources, true));
    return {
      name: 'NodeResourcesBalancedAllocation',
      preScore(state, pod) {
        state.write(BALANCED_KEY, {
          requests: scorer.intern(podRequestList(pod as PodInformation, resources, true)),
        } as {
          requests: number[];
        });
        return undefined;
      },
      score(state, pod, node) {
        return scorer.score(node as NodeInformation, requests(state, pod as PodInformation));
      },
    };
  },
};

const LABEL_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function nameErrors(list: unknown, at: string, group: boolean): string[] {
  return (Array.isArray(list) ? list : []).flatMap((v, i) => {
    const errs: string[] = [];
    if (group && String(v).includes('/'))
      errs.push(`${at}[${i}]: Invalid value: ${JSON.stringify(v)}: resource group name can't contain '/'`);
    else if (!LABEL_NAME.test(String(v)))
      errs.push(`${at}[${i}]: Invalid value: ${JSON.stringify(v)}: must be a qualified name`);
    return errs;
  });
}

function weightErrors(resources: unknown, at: string, exactlyOne: boolean): string[] {
  return objs(resources).flatMap((r, i) => {
    const w = Number(r.weight);
    if (exactlyOne) return w === 1 ? [] : [`${at}[${i}].weight: Invalid value: ${r.weight}: must be 1`];
    return w >= 1 && w <= 100 && Number.isInteger(w)
      ? []
      : [`${at}[${i}].weight: Invalid value: ${r.weight}: resource weight of ${r.name} not in valid range [1, 100]`];
  });
}

function shapeErrors(shape: unknown, at: string): string[] {
  const points = objs(shape);
  if (points.length === 0) return [`${at}: Required value: at least one point must be specified`];
  const errs: string[] = [];
  for (let i = 1; i < points.length; i++) {
    if (Number(points[i - 1]!.utilization) >= Number(points[i]!.utilization)) {
      errs.push(
        `${at}[${i}].utilization: Invalid value: ${points[i]!.utilization}: utilization values must be sorted in increasing order`,
      );
      break;
    }
  }
  points.forEach((p, i) => {
    const u = Number(p.utilization);
    const s = Number(p.score);
    if (!(u >= 0 && u <= 100))
      errs.push(`${at}[${i}].utilization: Invalid value: ${p.utilization}: not in valid range [0, 100]`);
    if (!(s >= 0 && s <= 10)) errs.push(`${at}[${i}].score: Invalid value: ${p.score}: not in valid range [0, 10]`);
  });
  return errs;
}

/** Upstream's ValidateNodeResourcesFitArgs. */
function validateFitArgs(args: Args): string[] {
  const errs = [
    ...nameErrors(args.ignoredResources, 'ignoredResources', false),
    ...nameErrors(args.ignoredResourceGroups, 'ignoredResourceGroups', true),
  ];
  if (args.scoringStrategy === undefined) return errs;
  const strategy = obj(args.scoringStrategy);
  if (!STRATEGIES.includes(String(strategy.type))) {
    errs.push(
      `scoringStrategy.type: Unsupported value: ${JSON.stringify(strategy.type ?? '')}: supported values: ${STRATEGIES.map((s) => `"${s}"`).join(', ')}`,
    );
  }
  errs.push(...weightErrors(strategy.resources, 'scoringStrategy.resources', false));
  if (strategy.type === 'RequestedToCapacityRatio') {
    errs.push(...shapeErrors(obj(strategy.requestedToCapacityRatio).shape, 'scoringStrategy.shape'));
  }
  return errs;
}

/** Upstream's ValidateNodeResourcesBalancedAllocationArgs. */
function validateBalancedArgs(args: Args): string[] {
  const seen = new Set<string>();
  const errs = objs(args.resources).flatMap((r, i) => {
    const name = String(r.name);
    if (seen.has(name)) return [`resources[${i}].name: Duplicate value: ${JSON.stringify(name)}`];
    seen.add(name);
    return [];
  });
  return [...errs, ...weightErrors(args.resources, 'resources', true)];
}
