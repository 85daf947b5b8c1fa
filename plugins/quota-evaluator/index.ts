/**
 * quota-evaluator: what an object costs against a ResourceQuota, after upstream's evaluators for
 * the core kinds (object counts, pod compute resources, service ports and load balancers, claim
 * storage, `count/<resource>.<group>` for everything) and its pod scopes. Offered as the
 * QUOTA_USAGE service, which admission-resource-quota (charging creates) and
 * controller-resource-quota (recounting) both use, in the API server and in `skiff
 * controller-manager` alike. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { QUOTA_USAGE, type QuotaEvaluator } from 'skiff/sdk/quota';
import { matchingScopes, quotaApplies, quotaScopes, scopesApply, uncoveredScopes } from './scopes.js';
import { podConstraintError, restrictedResources, usageOf } from './usage.js';

const isPod = (r: { group: string; resource: string }) => r.group === '' && r.resource === 'pods';

export const evaluator: QuotaEvaluator = {
  usage: usageOf,
  matchingResources: restrictedResources,
  quotaScopes,
  matches: quotaApplies,
  matchesScopes: scopesApply,
  matchingScopes,
  uncoveredQuotaScopes: uncoveredScopes,
  // Only pods have constraints (every container must state what a cpu or memory quota limits).
  constraints: (required, r, obj) => (isPod(r) ? podConstraintError(required, obj) : undefined),
};

export default definePlugin({
  name: 'quota-evaluator',
  description:
    "What objects cost against ResourceQuotas (upstream's evaluators), for quota admission and the quota controller.",
  provides: [QUOTA_USAGE],
  // Set up wherever its users run: the API server, and `skiff controller-manager` beside the controller.
  roles: ['up', 'apiserver', 'controller-manager'],
  setup(ctx) {
    ctx.provide.service(QUOTA_USAGE, evaluator);
  },
});
