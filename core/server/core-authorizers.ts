/**
 * The authorizers the core always runs first, each with what it allows (for
 * SelfSubjectRulesReview): kept side by side so the decision and its listing cannot drift apart.
 * Only these come before the configured chain, and none looks at a user's name: no identity
 * outranks the chain. What the components (controller manager, scheduler, nodes, kube-proxy) may
 * do is the configured chain's business (plugins/authz-bootstrap-roles, or an ABAC policy).
 */
import type { AuthorizationAttributes, AuthorizationDecision, RuleResolver } from '../auth-types.js';

interface CoreAuthorizer {
  name: string;
  authorize(a: AuthorizationAttributes): AuthorizationDecision | undefined;
  rules: RuleResolver;
}

/** [API group, resource] of the reviews a user may always ask about itself. */
const SELF_REVIEWS: [string, string][] = [
  ['authentication.k8s.io', 'selfsubjectreviews'],
  ['authorization.k8s.io', 'selfsubjectaccessreviews'],
  ['authorization.k8s.io', 'selfsubjectrulesreviews'],
];
const SELF_REVIEW_KEYS = new Set(SELF_REVIEWS.map(([g, r]) => `${g}/${r}`));

/**
 * Upstream's system:public-info-viewer role (bound to system:authenticated and
 * system:unauthenticated): exactly these paths, no sub-paths (/readyz/ping is not public upstream).
 */
export const PUBLIC_INFO_PATHS: readonly string[] = ['/healthz', '/livez', '/readyz', '/version', '/version/'];

export const CORE_AUTHORIZERS: CoreAuthorizer[] = [
  // Upstream always puts the privileged-group authorizer first: system:masters may do anything.
  {
    name: 'system:masters',
    authorize: (a) =>
      a.user.groups.includes('system:masters')
        ? { decision: 'allow', reason: 'user is in group system:masters' }
        : undefined,
    rules: (user) =>
      user.groups.includes('system:masters')
        ? {
            resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
            nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          }
        : { resourceRules: [], nonResourceRules: [] },
  },
  // Asking about yourself reveals nothing you could not learn by trying: every authenticated user may
  // create self-reviews, as upstream's bootstrap role system:basic-user grants (Skiff has no RBAC).
  // Kept here rather than in authz-bootstrap-roles so that `kubectl auth can-i` and `auth whoami`
  // work under every chain (ABAC, AlwaysDeny), which is when an operator needs them to debug it.
  {
    name: 'self-reviews',
    authorize: (a) =>
      a.resourceRequest &&
      a.verb === 'create' &&
      SELF_REVIEW_KEYS.has(`${a.apiGroup}/${a.resource}`) &&
      a.user.groups.includes('system:authenticated')
        ? { decision: 'allow', reason: 'every authenticated user may review itself (system:basic-user)' }
        : undefined,
    rules: (user) => ({
      resourceRules: user.groups.includes('system:authenticated')
        ? SELF_REVIEWS.map(([group, resource]) => ({ verbs: ['create'], apiGroups: [group], resources: [resource] }))
        : [],
      nonResourceRules: [],
    }),
  },
  // Health and version are for everybody, load balancers and probes included, under every chain
  // (a probe cannot carry a policy's credentials): upstream's system:public-info-viewer, GET only.
  {
    name: 'system:public-info-viewer',
    authorize: (a) =>
      !a.resourceRequest && a.verb === 'get' && PUBLIC_INFO_PATHS.includes(a.path)
        ? { decision: 'allow', reason: 'health and version are public (system:public-info-viewer)' }
        : undefined,
    rules: () => ({
      resourceRules: [],
      nonResourceRules: [{ verbs: ['get'], nonResourceURLs: [...PUBLIC_INFO_PATHS] }],
    }),
  },
];
