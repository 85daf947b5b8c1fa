/**
 * api-authentication-v1: the authentication.k8s.io review APIs. SelfSubjectReview answers "who am I"
 * (`kubectl auth whoami`); TokenReview runs a token through this server's authentication chain
 * (what webhook token authenticators and aggregated servers ask). Neither is stored. See README.md.
 */
import { definePlugin, errors, type PluginApi } from 'skiff/sdk';
import type { KubeObject, ResourceDefinition } from 'skiff/sdk/api';
import type { UserInfo } from 'skiff/sdk/auth';

const GROUP = 'authentication.k8s.io';

function userInfo(user: UserInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { username: user.name, groups: user.groups };
  if (user.uid) out.uid = user.uid;
  if (user.extra && Object.keys(user.extra).length) out.extra = user.extra;
  return out;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function selfSubjectReview(version: string): ResourceDefinition {
  return {
    group: GROUP,
    version,
    kind: 'SelfSubjectReview',
    plural: 'selfsubjectreviews',
    singular: 'selfsubjectreview',
    namespaced: false,
    verbs: ['create'],
    virtualCreate: async (_ns, body, _dryRun, requester) => ({
      apiVersion: `${GROUP}/${version}`,
      kind: 'SelfSubjectReview',
      metadata: { ...body.metadata, creationTimestamp: now() },
      status: { userInfo: userInfo(requester) },
    }),
  };
}

async function reviewToken(api: PluginApi, body: KubeObject): Promise<KubeObject> {
  const spec = (body.spec ?? {}) as { token?: unknown; audiences?: unknown };
  if (typeof spec.token !== 'string' || spec.token === '') {
    throw errors.invalid('TokenReview', GROUP, '', [{ type: 'FieldValueRequired', field: 'spec.token' }]);
  }
  const outcome = await api.authentication.authenticate({
    headers: { authorization: `Bearer ${spec.token}` },
    transport: 'secure',
  });
  const user = outcome.result?.user;
  const status: Record<string, unknown> =
    user?.name && user.name !== 'system:anonymous'
      ? { authenticated: true, user: userInfo(user), audiences: Array.isArray(spec.audiences) ? spec.audiences : [] }
      : {
          authenticated: false,
          user: {},
          error: outcome.refusals.length ? '[invalid bearer token]' : 'token not recognised',
        };
  return {
    apiVersion: `${GROUP}/v1`,
    kind: 'TokenReview',
    metadata: { ...body.metadata, creationTimestamp: now() },
    spec: body.spec,
    status,
  } as KubeObject;
}

export default definePlugin({
  name: 'api-authentication-v1',
  description: 'authentication.k8s.io SelfSubjectReview (kubectl auth whoami) and TokenReview.',
  setup(ctx) {
    ctx.provide.resource(selfSubjectReview('v1'));
    ctx.provide.resource(selfSubjectReview('v1beta1'));
    ctx.provide.resource({
      group: GROUP,
      version: 'v1',
      kind: 'TokenReview',
      plural: 'tokenreviews',
      singular: 'tokenreview',
      namespaced: false,
      verbs: ['create'],
      virtualCreate: (_ns, body) => reviewToken(ctx.api, body),
    });
  },
});
