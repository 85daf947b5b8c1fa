/**
 * skiff/sdk/quota: what an object costs against a ResourceQuota, after upstream's quota
 * evaluators (which upstream also keeps apart from the admission plugin, for kube-controller-
 * manager): usage per resource name, the names a quota restricts, and whether a quota's scopes
 * select an object. The admission plugin (which charges) and the quota controller (which
 * recounts) both use it, so they always agree.
 */
export {
  formatScopes,
  matchingScopes,
  quotaApplies,
  quotaScopes,
  type ScopeSelector,
  scopeMatches,
  scopeSelector,
  scopesApply,
  uncoveredScopes,
} from '../quota/scopes.js';
export {
  add,
  countResourceName,
  type Fields,
  fields,
  type GroupResource,
  isBestEffort,
  list,
  podConstraintError,
  podCounts,
  prettyPrint,
  restrictedResources,
  type Usage,
  usageFromList,
  usageOf,
  usageToList,
} from '../quota/usage.js';
