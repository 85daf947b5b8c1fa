/**
 * Authorizing an API request as upstream's authorization filter does: the request's attributes
 * through the authorizer chain; a refusal is upstream's 403 Forbidden, and the verdict goes into
 * the audit record.
 */
import type { AuditRecord, AuthorizationAttributes, UserInfo } from '../auth-types.js';
import { runAuthorization } from '../chains.js';
import type { Hooks } from '../hooks.js';
import { forbiddenError, refusalReason } from './forbidden.js';
import type { RequestInfo } from './request-info.js';

/** What the chain is asked; a namespace's own name is its namespace, as upstream's attributes have it. */
function attributesOf(info: RequestInfo, user: UserInfo): AuthorizationAttributes {
  const attributes: AuthorizationAttributes = {
    user,
    verb: info.verb,
    resourceRequest: info.resourceRequest,
    namespace: info.resource === 'namespaces' && !info.subresource ? '' : info.namespace,
    apiGroup: info.apiGroup,
    apiVersion: info.apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    name: info.name,
    path: info.path,
  };
  if (info.resource === 'namespaces' && info.name) attributes.namespace = info.name;
  return attributes;
}

export async function authorizeRequest(hooks: Hooks, info: RequestInfo, user: UserInfo, audit?: AuditRecord) {
  const attributes = attributesOf(info, user);
  const decision = await runAuthorization(hooks, attributes);
  if (audit) {
    audit.authorization = {
      decision: decision.decision === 'allow' ? 'allow' : 'forbid',
      authorizer: decision.authorizer,
      reason: decision.reason,
    };
  }
  if (decision.decision !== 'allow') throw forbiddenError(attributes, refusalReason(decision));
}
