/**
 * LimitRanger's rules as plain functions, after upstream's plugin/pkg/admission/limitranger:
 * Container defaults (only where unset, with the annotation saying what was set), then min, max
 * and maxLimitRequestRatio per Container and for the whole Pod, and min and max of a
 * PersistentVolumeClaim's requests. Quantities compare exactly.
 */
import {
  canonicalQuantity,
  formatQuantity,
  type KubeObject,
  parseQuantity,
  parseQuantityWithFormat,
  type Quantity,
} from 'skiff/sdk';

export const ANNOTATION = 'kubernetes.io/limit-ranger';

type Fields = Record<string, unknown>;
type Resources = Record<string, unknown>;
const fields = (v: unknown): Fields => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Fields) : {});
const list = (v: unknown): Fields[] => (Array.isArray(v) ? v.map(fields) : []);

export interface LimitItem {
  type: string;
  min: Resources;
  max: Resources;
  default: Resources;
  defaultRequest: Resources;
  maxLimitRequestRatio: Resources;
  /** The names under min, max and maxLimitRequestRatio, sorted: problems are reported in this order. */
  names: { min: string[]; max: string[]; ratio: string[] };
}

/** A LimitRange as the rules read it: its items, and the Container defaults merged over its items. */
interface RangeView {
  items: LimitItem[];
  requests: Resources;
  limits: Resources;
}

// Stored objects (they carry a resourceVersion) come from the watch cache and never change, so
// they are read once rather than for every pod created.
const views = new WeakMap<KubeObject, RangeView>();

function viewOf(limitRange: KubeObject): RangeView {
  let view = views.get(limitRange);
  if (!view) {
    view = readView(limitRange);
    if (limitRange.metadata?.resourceVersion) views.set(limitRange, view);
  }
  return view;
}

export function itemsOf(limitRange: KubeObject): LimitItem[] {
  return viewOf(limitRange).items;
}

function readView(limitRange: KubeObject): RangeView {
  const items = list(fields(limitRange.spec).limits).map((l): LimitItem => {
    const item = {
      type: String(l.type ?? ''),
      min: fields(l.min),
      max: fields(l.max),
      default: fields(l.default),
      defaultRequest: fields(l.defaultRequest),
      maxLimitRequestRatio: fields(l.maxLimitRequestRatio),
    };
    const sortedNames = (r: Resources) => Object.keys(r).sort();
    return {
      ...item,
      names: { min: sortedNames(item.min), max: sortedNames(item.max), ratio: sortedNames(item.maxLimitRequestRatio) },
    };
  });
  const requests: Resources = {};
  const limits: Resources = {};
  for (const item of items) {
    if (item.type !== 'Container') continue;
    Object.assign(requests, item.defaultRequest);
    Object.assign(limits, item.default);
  }
  return { items, requests, limits };
}

/** Fill unset requests and limits of every (init) container from the Container items' defaults. */
export function applyDefaults(pod: KubeObject, limitRange: KubeObject): void {
  const { requests, limits } = viewOf(limitRange);
  const spec = fields(pod.spec);
  const notes: string[] = [];
  for (const c of list(spec.containers)) notes.push(...mergeContainer(c, requests, limits, 'container'));
  for (const c of list(spec.initContainers)) notes.push(...mergeContainer(c, requests, limits, 'init container'));
  if (notes.length === 0) return;
  const annotations: Record<string, string> = {};
  for (const k in pod.metadata.annotations) annotations[k] = pod.metadata.annotations[k]!;
  annotations[ANNOTATION] = `LimitRanger plugin set: ${notes.join('; ')}`;
  pod.metadata.annotations = annotations;
}

function mergeContainer(container: Fields, requests: Resources, limits: Resources, label: string): string[] {
  const resources = fields(container.resources);
  const setLimits = fill(resources, 'limits', limits);
  const setRequests = fill(resources, 'requests', requests);
  if (setLimits.length || setRequests.length) container.resources = resources;
  const notes: string[] = [];
  const name = String(container.name ?? '');
  if (setRequests.length) notes.push(`${setRequests.sort().join(', ')} request for ${label} ${name}`);
  if (setLimits.length) notes.push(`${setLimits.sort().join(', ')} limit for ${label} ${name}`);
  return notes;
}

function fill(resources: Fields, key: 'limits' | 'requests', defaults: Resources): string[] {
  const current = fields(resources[key]);
  const missing: string[] = [];
  for (const k in defaults) if (!(k in current)) missing.push(k);
  if (missing.length === 0) return missing;
  // Built by assignment, not spread from entries: an object made that way stays in V8's fast
  // mode, which every later step (validation, encoding, storage) reads faster.
  const filled: Fields = {};
  for (const k in current) filled[k] = current[k];
  for (const k of missing) filled[k] = defaults[k];
  resources[key] = filled;
  return missing;
}

/** Every violation of `limitRange` by `pod`, in upstream's wording. */
export function violations(pod: KubeObject, limitRange: KubeObject): string[] {
  const spec = fields(pod.spec);
  const containers = [...list(spec.containers), ...list(spec.initContainers)];
  const out: string[] = [];
  for (const item of itemsOf(limitRange)) {
    if (item.type === 'Container') {
      for (const c of containers) {
        const r = fields(c.resources);
        out.push(...checkItem('Container', item, fields(r.requests), fields(r.limits)));
      }
    } else if (item.type === 'Pod') {
      out.push(...checkItem('Pod', item, podTotal(spec, 'requests'), podTotal(spec, 'limits')));
    }
  }
  return out;
}

/**
 * Every violation of `limitRange` by a claim, in upstream's wording: PersistentVolumeClaim items'
 * min and max against spec.resources.requests only (claims get no defaults; their limits are not
 * the user's ask).
 */
export function claimViolations(claim: KubeObject, limitRange: KubeObject): string[] {
  const requests = fields(fields(fields(claim.spec).resources).requests);
  const type = 'PersistentVolumeClaim';
  const out: string[] = [];
  for (const item of itemsOf(limitRange)) {
    if (item.type !== type) continue;
    for (const name of item.names.min) {
      const problem = minProblem(type, name, item.min[name], requests, {});
      if (problem) out.push(problem);
    }
    for (const name of item.names.max) {
      const problem = maxRequestProblem(type, name, item.max[name], requests);
      if (problem) out.push(problem);
    }
  }
  return out;
}

function checkItem(type: string, item: LimitItem, requests: Resources, limits: Resources): string[] {
  const out: string[] = [];
  for (const name of item.names.min) {
    const problem = minProblem(type, name, item.min[name], requests, limits);
    if (problem) out.push(problem);
  }
  for (const name of item.names.max) {
    const problem = maxProblem(type, name, item.max[name], requests, limits);
    if (problem) out.push(problem);
  }
  for (const name of item.names.ratio) {
    const problem = ratioProblem(type, name, item.maxLimitRequestRatio[name], requests, limits);
    if (problem) out.push(problem);
  }
  return out;
}

/** Nano-units, 0 for what is not a quantity (the core's parser remembers every string it parsed). */
const q = (v: unknown): bigint => parseQuantity(v) ?? 0n;

const show = (v: unknown) => canonicalQuantity(v);

// The messages' heads are built only for a problem: printing quantities costs more than checking
// them. (Plain functions, not closures: under tsx every closure created also gets its name set.)
const minHead = (type: string, name: string, enforced: unknown) =>
  `minimum ${name} usage per ${type} is ${show(enforced)}`;
const maxHead = (type: string, name: string, enforced: unknown) =>
  `maximum ${name} usage per ${type} is ${show(enforced)}`;
const ratioHead = (type: string, name: string, enforced: unknown) =>
  `${name} max limit to request ratio per ${type} is ${show(enforced)}`;

function minProblem(type: string, name: string, enforced: unknown, requests: Resources, limits: Resources) {
  if (!(name in requests)) return `${minHead(type, name, enforced)}.  No request is specified`;
  if (q(requests[name]) < q(enforced))
    return `${minHead(type, name, enforced)}, but request is ${show(requests[name])}`;
  if (name in limits && q(limits[name]) < q(enforced))
    return `${minHead(type, name, enforced)}, but limit is ${show(limits[name])}`;
  return undefined;
}

function maxProblem(type: string, name: string, enforced: unknown, requests: Resources, limits: Resources) {
  if (!(name in limits)) return `${maxHead(type, name, enforced)}.  No limit is specified`;
  if (q(limits[name]) > q(enforced)) return `${maxHead(type, name, enforced)}, but limit is ${show(limits[name])}`;
  if (name in requests && q(requests[name]) > q(enforced))
    return `${maxHead(type, name, enforced)}, but request is ${show(requests[name])}`;
  return undefined;
}

/** Upstream's maxRequestConstraint: a claim's request, not a limit, is held to max. */
function maxRequestProblem(type: string, name: string, enforced: unknown, requests: Resources) {
  if (!(name in requests)) return `${maxHead(type, name, enforced)}.  No request is specified`;
  if (q(requests[name]) > q(enforced))
    return `${maxHead(type, name, enforced)}, but request is ${show(requests[name])}`;
  return undefined;
}

function ratioProblem(type: string, name: string, enforced: unknown, requests: Resources, limits: Resources) {
  const request = q(requests[name]);
  const limit = q(limits[name]);
  if (!(name in requests) || request === 0n)
    return `${ratioHead(type, name, enforced)}, but no request is specified or request is 0`;
  if (!(name in limits) || limit === 0n)
    return `${ratioHead(type, name, enforced)}, but no limit is specified or limit is 0`;
  // limit / request > enforced, compared exactly: limit × 10⁹ > enforced(nano) × request.
  if (limit * 1_000_000_000n <= q(enforced) * request) return undefined;
  const ratio = Number(limit) / Number(request);
  return `${ratioHead(type, name, enforced)}, but provided ratio is ${ratio.toFixed(6)}`;
}

/** The pod's total: the sum over containers, or the largest init container if that is more. */
function podTotal(spec: Fields, key: 'requests' | 'limits'): Resources {
  const total = new Map<string, Quantity>();
  const amounts = (c: Fields) =>
    Object.entries(fields(fields(c.resources)[key])).flatMap(([name, v]) => {
      const amount = parseQuantityWithFormat(v);
      return amount ? [[name, amount] as const] : [];
    });
  for (const c of list(spec.containers)) {
    for (const [name, amount] of amounts(c)) {
      const sum = total.get(name);
      total.set(name, sum ? { nano: sum.nano + amount.nano, format: sum.format } : amount);
    }
  }
  for (const c of list(spec.initContainers)) {
    for (const [name, amount] of amounts(c)) if (amount.nano > (total.get(name)?.nano ?? -1n)) total.set(name, amount);
  }
  // Back to quantity strings, so messages print the total as upstream would ("1500m", "384Mi").
  return Object.fromEntries([...total].map(([k, v]) => [k, formatQuantity(v.nano, v.format)]));
}
