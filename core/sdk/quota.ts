/**
 * skiff/sdk/quota: what an object costs against a ResourceQuota. The QUOTA_USAGE service answers
 * it, after upstream's quota evaluators (quota-evaluator provides it): the admission plugin (which
 * charges) and the quota controller (which recounts) both ask it, so they always agree, in the API
 * server and in `skiff controller-manager` alike. Resource-list arithmetic, which upstream keeps
 * apart from the evaluators (quota/v1 resources.go), is plain functions here.
 */
import { formatQuantity, parseQuantityWithFormat, type Quantity } from '../api/quantity.js';
import type { KubeObject } from '../api/types.js';
import { serviceKey } from '../plugins/services.js';

/** Resource name → amount, e.g. {pods: 1, requests.cpu: 250m}. */
export type Usage = Map<string, Readonly<Quantity>>;

export interface GroupResource {
  group: string;
  resource: string;
}

/** A ScopedResourceSelectorRequirement: {scopeName, operator, values}. */
export interface ScopeSelector {
  scopeName: string;
  operator: string;
  values: string[];
}

/** Upstream's quota.Evaluator, for every kind at once (objects of kind `r`). */
export interface QuotaEvaluator {
  /** What one object uses: object counts, compute resources, ports, storage. A finished pod uses nothing. */
  usage(r: GroupResource, obj: KubeObject): Usage;
  /** Of the resources a quota limits (its spec.hard), those an object of kind `r` can use. */
  matchingResources(hard: Record<string, unknown>, r: GroupResource): string[];
  /** A quota's scopes: spec.scopes (each an Exists) then spec.scopeSelector's expressions. */
  quotaScopes(quota: KubeObject): ScopeSelector[];
  /** Whether `quota` applies to `obj`: unscoped, or every scope matches. */
  matches(quota: KubeObject, r: GroupResource, obj: KubeObject): boolean;
  /** `matches` with the quota's scopes already read (admission reads them once per batch). */
  matchesScopes(selectors: ScopeSelector[], r: GroupResource, obj: KubeObject): boolean;
  /** The selectors `obj` matches. */
  matchingScopes(selectors: ScopeSelector[], r: GroupResource, obj: KubeObject): ScopeSelector[];
  /** The limited scopes that no matched quota scope covers. */
  uncoveredQuotaScopes(limited: ScopeSelector[], covered: ScopeSelector[]): ScopeSelector[];
  /** Upstream's Constraints: why `obj` may not be created under a quota limiting `required`, or undefined. */
  constraints(required: string[], r: GroupResource, obj: KubeObject): string | undefined;
}

export const QUOTA_USAGE = serviceKey<QuotaEvaluator>('quota-usage', 'what objects count against a ResourceQuota');

/** Adds as Go's Quantity.Add: a sum that was zero takes the format of what is added ("0" + 1Gi = 1Gi). */
export function addUsage(usage: Usage, name: string, q: Quantity): void {
  const current = usage.get(name);
  if (!current) usage.set(name, { ...q });
  else usage.set(name, { nano: current.nano + q.nano, format: current.nano === 0n ? q.format : current.format });
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A resource list as a Usage; values that are not quantities are skipped (validation refused them). */
export function usageFromList(resources: unknown): Usage {
  const usage: Usage = new Map();
  for (const [k, v] of Object.entries(isMap(resources) ? resources : {})) {
    const q = parseQuantityWithFormat(v);
    if (q) usage.set(k, q);
  }
  return usage;
}

export function usageToList(usage: Usage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...usage.keys()].sort()) out[k] = formatQuantity(usage.get(k)!.nano, usage.get(k)!.format);
  return out;
}

/** Upstream's prettyPrint: `a=1,b=2Gi`, sorted by name. */
export function prettyPrint(usage: Usage, names: string[]): string {
  return [...names]
    .sort()
    .map((n) => `${n}=${formatQuantity(usage.get(n)?.nano ?? 0n, usage.get(n)?.format)}`)
    .join(',');
}

/** As Go's %v prints a []ScopedResourceSelectorRequirement: [{PriorityClass In [a b]} {BestEffort Exists []}]. */
export function formatScopes(selectors: ScopeSelector[]): string {
  return `[${selectors.map((s) => `{${s.scopeName} ${s.operator} [${s.values.join(' ')}]}`).join(' ')}]`;
}
