/**
 * api-authorization-v1: the authorization.k8s.io review APIs, answered by this server's
 * authorization chain. SelfSubjectAccessReview is `kubectl auth can-i`; SubjectAccessReview and
 * LocalSubjectAccessReview ask about someone else. Nothing is stored. See README.md.
 */
import { definePlugin, errors, type PluginApi } from 'skiff/sdk';
import type { KubeObject, ResourceDefinition } from 'skiff/sdk/api';
import type { AuthorizationAttributes, UserInfo } from 'skiff/sdk/auth';

const GROUP = 'authorization.k8s.io';
type Spec = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');

function attributesOf(spec: Spec, user: UserInfo, kind: string): AuthorizationAttributes {
  const resource = spec.resourceAttributes as Spec | undefined;
  const nonResource = spec.nonResourceAttributes as Spec | undefined;
  if (!resource === !nonResource) {
    throw errors.invalid(kind, GROUP, '', [
      {
        type: 'FieldValueInvalid',
        field: 'spec.resourceAttributes',
        value: '',
        detail: 'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      },
    ]);
  }
  if (resource) {
    return {
      user,
      verb: str(resource.verb),
      resourceRequest: true,
      namespace: str(resource.namespace),
      apiGroup: str(resource.group),
      apiVersion: str(resource.version),
      resource: str(resource.resource),
      subresource: str(resource.subresource),
      name: str(resource.name),
      path: '',
    };
  }
  return {
    user,
    verb: str(nonResource!.verb),
    resourceRequest: false,
    namespace: '',
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    name: '',
    path: str(nonResource!.path),
  };
}

async function review(api: PluginApi, kind: string, body: KubeObject, user: UserInfo): Promise<KubeObject> {
  const spec = (body.spec ?? {}) as Spec;
  const decision = await api.authorization.check(attributesOf(spec, user, kind));
  const status: Record<string, unknown> = { allowed: decision.decision === 'allow' };
  if (decision.decision === 'deny') status.denied = true;
  // Upstream's review shows whatever reason the chain gave: the decider's, or the no-opinion ones.
  const reason = decision.decision === 'no-opinion' ? decision.noOpinionReason : decision.reason;
  if (reason) status.reason = reason;
  return {
    apiVersion: `${GROUP}/v1`,
    kind,
    metadata: { ...body.metadata },
    spec,
    status,
  } as KubeObject;
}

/** The user a (Local)SubjectAccessReview asks about. */
function subjectOf(spec: Spec): UserInfo {
  const groups = Array.isArray(spec.groups) ? (spec.groups as string[]) : [];
  return {
    name: str(spec.user),
    uid: str(spec.uid) || undefined,
    groups,
    extra: (spec.extra ?? undefined) as UserInfo['extra'],
  };
}

function definition(kind: string, plural: string, namespaced: boolean, create: ResourceDefinition['virtualCreate']) {
  return {
    group: GROUP,
    version: 'v1',
    kind,
    plural,
    singular: plural.replace(/s$/, ''),
    namespaced,
    verbs: ['create'],
    virtualCreate: create,
  } satisfies ResourceDefinition;
}

/** Every authorizer's rules for the requester, in chain order; one without a lister makes it incomplete. */
function rulesReview(api: PluginApi, body: KubeObject, user: UserInfo) {
  const spec = (body.spec ?? {}) as Spec;
  const { resourceRules, nonResourceRules, unlisted } = api.authorization.rules(user, str(spec.namespace));
  const status: Record<string, unknown> = { resourceRules, nonResourceRules, incomplete: unlisted.length > 0 };
  if (unlisted.length) status.evaluationError = `authorizers that cannot list rules: ${unlisted.join(', ')}`;
  return {
    apiVersion: `${GROUP}/v1`,
    kind: 'SelfSubjectRulesReview',
    metadata: { ...body.metadata },
    spec,
    status,
  } as KubeObject;
}

export default definePlugin({
  name: 'api-authorization-v1',
  description: 'authorization.k8s.io access reviews (kubectl auth can-i), answered by the authorization chain.',
  setup(ctx) {
    const { api } = ctx;
    ctx.provide.resource(
      definition('SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, (_ns, body, _dry, requester) =>
        review(api, 'SelfSubjectAccessReview', body, requester),
      ),
    );
    ctx.provide.resource(
      definition('SelfSubjectRulesReview', 'selfsubjectrulesreviews', false, async (_ns, body, _dry, requester) =>
        rulesReview(api, body, requester),
      ),
    );
    ctx.provide.resource(
      definition('SubjectAccessReview', 'subjectaccessreviews', false, (_ns, body) =>
        review(api, 'SubjectAccessReview', body, subjectOf((body.spec ?? {}) as Spec)),
      ),
    );
    ctx.provide.resource(
      definition('LocalSubjectAccessReview', 'localsubjectaccessreviews', true, async (namespace, body) => {
        const spec = (body.spec ?? {}) as Spec;
        const attrs = (spec.resourceAttributes ?? {}) as Spec;
        if (attrs.namespace !== undefined && attrs.namespace !== '' && attrs.namespace !== namespace) {
          throw errors.badRequest(
            `spec.resourceAttributes.namespace must match metadata.namespace: "${String(attrs.namespace)}" vs "${namespace}"`,
          );
        }
        spec.resourceAttributes = { ...attrs, namespace };
        return review(api, 'LocalSubjectAccessReview', { ...body, spec } as KubeObject, subjectOf(spec));
      }),
    );
  },
});
