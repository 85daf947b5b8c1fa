/**
 * What an object costs against a ResourceQuota, after upstream's quota evaluators
 * (pkg/quota/v1/evaluator/core): object counts, pod compute resources, service ports, claim
 * storage, and `count/<resource>.<group>` for everything.
 */
import { type KubeObject, parseQuantityWithFormat, type Quantity } from 'skiff/sdk';
import { addUsage, type GroupResource, type Usage } from 'skiff/sdk/quota';

const ONE: Quantity = { nano: 1_000_000_000n, format: 'DecimalSI' };
/** Kinds whose plain plural is also a quota resource name ("secrets" as well as "count/secrets"). */
const COUNTED = new Set([
  'pods',
  'services',
  'replicationcontrollers',
  'resourcequotas',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
]);
const COMPUTE = ['cpu', 'memory', 'ephemeral-storage'];

export type Fields = Record<string, unknown>;
export const fields = (v: unknown): Fields =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Fields) : {};
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Names built per pod are remembered up to this many (clients choose them). */
const NAMES_LIMIT = 1024;

// Quantities come from the SDK's parser, which remembers each string it has parsed: every pod
// brings the same few ("100m", "128Mi"). They are shared, so every Usage here builds new ones
// rather than changing them.
const quantityOf = parseQuantityWithFormat;

export function countResourceName(r: GroupResource): string {
  return r.group ? `count/${r.resource}.${r.group}` : `count/${r.resource}`;
}

/** The usage of one object of resource `r`. Terminal pods use nothing, as upstream. */
export function usageOf(r: GroupResource, obj: KubeObject): Usage {
  const usage: Usage = new Map();
  if (r.group === '' && r.resource === 'pods' && !podCounts(obj)) return usage;
  usage.set(countResourceName(r), ONE);
  if (r.group !== '') return usage;
  if (COUNTED.has(r.resource)) usage.set(r.resource, ONE);
  if (r.resource === 'pods') for (const [k, v] of podComputeUsage(obj)) usage.set(k, v);
  if (r.resource === 'services') serviceUsage(obj, usage);
  if (r.resource === 'persistentvolumeclaims') {
    const storage = quantityOf(fields(fields(fields(obj.spec).resources).requests).storage);
    if (storage) usage.set('requests.storage', storage);
  }
  return usage;
}

export function podCounts(pod: KubeObject): boolean {
  const phase = fields(pod.status).phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

function serviceUsage(svc: KubeObject, usage: Usage): void {
  const spec = fields(svc.spec);
  const type = spec.type ?? 'ClusterIP';
  if (type === 'LoadBalancer') usage.set('services.loadbalancers', ONE);
  if (type === 'NodePort' || type === 'LoadBalancer') {
    const ports = BigInt(list(spec.ports).length);
    usage.set('services.nodeports', { nano: ports * ONE.nano, format: 'DecimalSI' });
  }
}

function containerResources(container: unknown): { requests: Fields; limits: Fields } {
  const resources = fields(fields(container).resources);
  return { requests: fields(resources.requests), limits: fields(resources.limits) };
}

const requestNames = new Map<string, string>();
const limitNames = new Map<string, string>();

/** `${prefix}${name}`, built once per name: the same few names come with every pod. */
function prefixed(names: Map<string, string>, prefix: string, name: string): string {
  let full = names.get(name);
  if (full === undefined) {
    full = `${prefix}${name}`;
    if (names.size < NAMES_LIMIT) names.set(name, full);
  }
  return full;
}

/** One container's compute usage: requests.X (and the bare X alias) and limits.X. */
function containerUsage(container: unknown): Usage {
  const { requests, limits } = containerResources(container);
  const usage: Usage = new Map();
  for (const name in requests) {
    const q = quantityOf(requests[name]);
    if (!q) continue;
    usage.set(prefixed(requestNames, 'requests.', name), q);
    if (COMPUTE.includes(name)) usage.set(name, q);
  }
  for (const name in limits) {
    const q = quantityOf(limits[name]);
    if (q) usage.set(prefixed(limitNames, 'limits.', name), q);
  }
  return usage;
}

/** Upstream's rule: the sum over containers, or the largest init container if that is more. */
function podComputeUsage(pod: KubeObject): Usage {
  const spec = fields(pod.spec);
  const sum: Usage = new Map();
  for (const c of list(spec.containers)) for (const [k, v] of containerUsage(c)) addUsage(sum, k, v);
  for (const c of list(spec.initContainers)) {
    for (const [k, v] of containerUsage(c)) {
      const current = sum.get(k);
      if (!current || v.nano > current.nano) sum.set(k, v);
    }
  }
  const overhead = fields(spec.overhead);
  for (const [name, value] of Object.entries(overhead)) {
    const q = quantityOf(value);
    if (!q) continue;
    for (const key of [`requests.${name}`, `limits.${name}`, ...(COMPUTE.includes(name) ? [name] : [])]) {
      if (sum.has(key)) addUsage(sum, key, q);
    }
  }
  return sum;
}

/** Upstream's BestEffort: no container (nor init container) asks for or limits cpu or memory. */
export function isBestEffort(pod: KubeObject): boolean {
  const spec = fields(pod.spec);
  return [...list(spec.containers), ...list(spec.initContainers)].every((c) => {
    const { requests, limits } = containerResources(c);
    return !['cpu', 'memory'].some((r) => r in requests || r in limits);
  });
}

/** The resources a quota limits that an object of this kind can use (upstream's MatchingResources). */
export function restrictedResources(hard: Fields, r: GroupResource): string[] {
  const names = Object.keys(hard);
  const count = countResourceName(r);
  return names.filter((n) => {
    if (n === count || (r.group === '' && n === r.resource && COUNTED.has(n))) return true;
    if (r.group !== '') return false;
    if (r.resource === 'pods') return n.startsWith('requests.') || n.startsWith('limits.') || COMPUTE.includes(n);
    if (r.resource === 'services') return n === 'services.loadbalancers' || n === 'services.nodeports';
    if (r.resource === 'persistentvolumeclaims') return n === 'requests.storage';
    return false;
  });
}

const VALIDATED = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);

/**
 * Upstream's backward-compatible rule: when a quota limits cpu or memory, every container must
 * state that request or limit. Returns upstream's message, or undefined.
 */
export function podConstraintError(required: string[], pod: KubeObject): string | undefined {
  const needed = required.filter((r) => VALIDATED.has(r));
  if (needed.length === 0) return undefined;
  const missing = new Map<string, Set<string>>();
  const spec = fields(pod.spec);
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    const has = containerUsage(c);
    for (const r of needed) {
      if (has.has(r)) continue;
      const names = missing.get(r) ?? new Set<string>();
      names.add(String(fields(c).name ?? ''));
      missing.set(r, names);
    }
  }
  if (missing.size === 0) return undefined;
  const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`);
  return `must specify ${parts.join('; ')}`;
}
