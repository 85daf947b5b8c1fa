/**
 * Quota scopes, after upstream's pod evaluator: a quota's spec.scopes (each an `Exists`) and its
 * spec.scopeSelector's expressions are selectors a pod either matches or not. Terminating,
 * NotTerminating, BestEffort, NotBestEffort and CrossNamespacePodAffinity look at the pod alone
 * (upstream ignores their operator); PriorityClass is a label selector on the pod's
 * priorityClassName. Scoped quotas never apply to other kinds.
 */
import type { KubeObject } from 'skiff/sdk';
import type { GroupResource, ScopeSelector } from 'skiff/sdk/quota';
import { type Fields, fields, isBestEffort, list } from './usage.js';

/** A selector as written in a quota or in the plugin's config (missing fields read as empty). */
export function scopeSelector(v: unknown): ScopeSelector {
  const f = fields(v);
  return {
    scopeName: String(f.scopeName ?? ''),
    operator: String(f.operator ?? ''),
    values: list(f.values).map(String),
  };
}

/** Upstream's GetScopeSelectorsFromQuota: spec.scopes as `Exists`, then spec.scopeSelector's expressions. */
export function quotaScopes(quota: KubeObject): ScopeSelector[] {
  const spec = fields(quota.spec);
  const scopes = list(spec.scopes).map((name) => ({ scopeName: String(name), operator: 'Exists', values: [] }));
  return [...scopes, ...list(fields(spec.scopeSelector).matchExpressions).map(scopeSelector)];
}

function isPod(r: GroupResource): boolean {
  return r.group === '' && r.resource === 'pods';
}

/** Whether `pod` matches one selector (upstream's podMatchesScopeFunc). */
export function scopeMatches(selector: ScopeSelector, pod: KubeObject): boolean {
  const spec = fields(pod.spec);
  const deadline = spec.activeDeadlineSeconds;
  const terminating = typeof deadline === 'number' && deadline >= 0;
  switch (selector.scopeName) {
    case 'Terminating':
      return terminating;
    case 'NotTerminating':
      return !terminating;
    case 'BestEffort':
      return isBestEffort(pod);
    case 'NotBestEffort':
      return !isBestEffort(pod);
    case 'PriorityClass':
      return priorityClassMatches(selector, String(spec.priorityClassName ?? ''));
    case 'CrossNamespacePodAffinity':
      return usesCrossNamespaceAffinity(spec);
    default:
      return false;
  }
}

/** A label selector on {PriorityClass: priorityClassName} (no label when the pod names none). */
function priorityClassMatches(selector: ScopeSelector, priorityClass: string): boolean {
  switch (selector.operator) {
    case 'Exists':
      return priorityClass !== '';
    case 'DoesNotExist':
      return priorityClass === '';
    case 'In':
      return priorityClass !== '' && selector.values.includes(priorityClass);
    case 'NotIn':
      return priorityClass === '' || !selector.values.includes(priorityClass);
    default:
      return false;
  }
}

/** A pod (anti-)affinity term that names namespaces or selects them reaches across namespaces. */
function usesCrossNamespaceAffinity(spec: Fields): boolean {
  const affinity = fields(spec.affinity);
  return [affinity.podAffinity, affinity.podAntiAffinity].some((a) => {
    const terms = [
      ...list(fields(a).requiredDuringSchedulingIgnoredDuringExecution),
      ...list(fields(a).preferredDuringSchedulingIgnoredDuringExecution).map((w) => fields(w).podAffinityTerm),
    ];
    return terms.some((t) => list(fields(t).namespaces).length > 0 || fields(t).namespaceSelector != null);
  });
}

/** Whether `quota` applies to `obj`: scoped quotas apply to pods only, and only when every scope matches. */
export function quotaApplies(quota: KubeObject, r: GroupResource, obj: KubeObject): boolean {
  return scopesApply(quotaScopes(quota), r, obj);
}

/** quotaApplies with the quota's scopes already read (admission reads them once per batch). */
export function scopesApply(selectors: ScopeSelector[], r: GroupResource, obj: KubeObject): boolean {
  if (selectors.length === 0) return true;
  if (!isPod(r)) return false;
  return selectors.every((s) => scopeMatches(s, obj));
}

/** The selectors `obj` matches (upstream's MatchingScopes): none for kinds other than pods. */
export function matchingScopes(selectors: ScopeSelector[], r: GroupResource, obj: KubeObject): ScopeSelector[] {
  if (!isPod(r)) return [];
  return selectors.filter((s) => scopeMatches(s, obj));
}

/** The limited scopes no matched quota scope covers; a scope is covered by a quota scope of its name. */
export function uncoveredScopes(limited: ScopeSelector[], covered: ScopeSelector[]): ScopeSelector[] {
  return limited.filter((l) => !covered.some((c) => c.scopeName === l.scopeName));
}
