/**
 * LimitRanger's rules as plain functions, after upstream's plugin/pkg/admission/limitranger:
 * Container defaults (only where unset, with the annotation saying what was set), then min, max
 * and maxLimitRequestRatio per Container and for the whole Pod. Quantities compare exactly.
 */
import {
  canonicalQuantity,
  formatQuantity,
  type KubeObject,
  parseQuantity,
  parseQuantityWithFormat,
  type Quantity,
} from '../../core/sdk.js';

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
}

export function itemsOf(limitRange: KubeObject): LimitItem[] {
  return list(fields(limitRange.spec).limits).map((l) => ({
    type: String(l.type ?? ''),
    min: fields(l.min),
    max: fields(l.max),
    default: fields(l.default),
    defaultRequest: fields(l.defaultRequest),
    maxLimitRequestRatio: fields(l.maxLimitRequestRatio),
  }));
}

/** Fill unset requests and limits of every (init) container from the Container items' defaults. */
export function applyDefaults(pod: KubeObject, limitRange: KubeObject): void {
  const requests: Resources = {};
  const limits: Resources = {};
  for (const item of itemsOf(limitRange)) {
    if (item.type !== 'Container') continue;
    Object.assign(requests, item.defaultRequest);
    Object.assign(limits, item.default);
  }
  const spec = fields(pod.spec);
  const notes: string[] = [];
  for (const c of list(spec.containers)) notes.push(...mergeContainer(c, requests, limits, 'container'));
  for (const c of list(spec.initContainers)) notes.push(...mergeContainer(c, requests, limits, 'init container'));
  if (notes.length === 0) return;
  pod.metadata.annotations = {
    ...pod.metadata.annotations,
    [ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}`,
  };
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
  const missing = Object.keys(defaults).filter((k) => !(k in current));
  if (missing.length) resources[key] = { ...current, ...Object.fromEntries(missing.map((k) => [k, defaults[k]])) };
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

function checkItem(type: string, item: LimitItem, requests: Resources, limits: Resources): string[] {
  const out: string[] = [];
  const each = (bounds: Resources, check: (name: string, enforced: unknown) => string | undefined) => {
    for (const name of Object.keys(bounds).sort()) {
      const problem = check(name, bounds[name]);
      if (problem) out.push(problem);
    }
  };
  each(item.min, (name, enforced) => minProblem(type, name, enforced, requests, limits));
  each(item.max, (name, enforced) => maxProblem(type, name, enforced, requests, limits));
  each(item.maxLimitRequestRatio, (name, enforced) => ratioProblem(type, name, enforced, requests, limits));
  return out;
}

const q = (v: unknown) => parseQuantity(v) ?? 0n;
const show = (v: unknown) => canonicalQuantity(v);

function minProblem(type: string, name: string, enforced: unknown, requests: Resources, limits: Resources) {
  const head = `minimum ${name} usage per ${type} is ${show(enforced)}`;
  if (!(name in requests)) return `${head}.  No request is specified`;
  if (q(requests[name]) < q(enforced)) return `${head}, but request is ${show(requests[name])}`;
  if (name in limits && q(limits[name]) < q(enforced)) return `${head}, but limit is ${show(limits[name])}`;
  return undefined;
}

function maxProblem(type: string, name: string, enforced: unknown, requests: Resources, limits: Resources) {
  const head = `maximum ${name} usage per ${type} is ${show(enforced)}`;
  if (!(name in limits)) return `${head}.  No limit is specified`;
  if (q(limits[name]) > q(enforced)) return `${head}, but limit is ${show(limits[name])}`;
  if (name in requests && q(requests[name]) > q(enforced)) return `${head}, but request is ${show(requests[name])}`;
  return undefined;
}

function ratioProblem(type: string, name: string, enforced: unknown, requests: Resources, limits: Resources) {
  const head = `${name} max limit to request ratio per ${type} is ${show(enforced)}`;
  const request = q(requests[name]);
  const limit = q(limits[name]);
  if (!(name in requests) || request === 0n) return `${head}, but no request is specified or request is 0`;
  if (!(name in limits) || limit === 0n) return `${head}, but no limit is specified or limit is 0`;
  // limit / request > enforced, compared exactly: limit × 10⁹ > enforced(nano) × request.
  if (limit * 1_000_000_000n <= q(enforced) * request) return undefined;
  const ratio = Number(limit) / Number(request);
  return `${head}, but provided ratio is ${ratio.toFixed(6)}`;
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
