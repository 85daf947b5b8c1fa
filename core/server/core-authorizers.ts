/**
 * The authorizers the core always runs first, each with what it allows (for
 * SelfSubjectRulesReview): kept side by side so the decision and its listing cannot drift apart.
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
const CONTROLLER_MANAGER = 'system:kube-controller-manager';
const SELF_REVIEW_KEYS = new Set(SELF_REVIEWS.map(([g, r]) => `${g}/${r}`));

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
  // Skiff has no RBAC to carry upstream's bootstrap role system:kube-controller-manager; the
  // controllers need to read and write every kind, so the controller manager's identity (its
  // client certificate's CN, or the in-process controllers) may do what that role grants, and more.
  {
    name: 'system:kube-controller-manager',
    authorize: (a) =>
      a.user.name === CONTROLLER_MANAGER
        ? { decision: 'allow', reason: `${CONTROLLER_MANAGER} runs the controllers (upstream's bootstrap role)` }
        : undefined,
    rules: (user) =>
      user.name === CONTROLLER_MANAGER
        ? { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [] }
        : { resourceRules: [], nonResourceRules: [] },
  },
  // Asking about yourself reveals nothing you could not learn by trying: every authenticated user may
  // create self-reviews, as upstream's bootstrap role system:basic-user grants (Skiff has no RBAC).
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
];
