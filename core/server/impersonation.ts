/**
 * Impersonation (`kubectl --as`, `--as-group`, `--as-uid`): the Impersonate-User, -Group, -Uid and
 * -Extra-* headers, honoured only when the real user is authorized to `impersonate` each of them, as
 * upstream's WithImpersonation filter. The request then runs entirely as the impersonated user.
 *
 * Headers are read as sent, each repeat apart (Node's req.headersDistinct), never as Node's joined
 * form: `--as-group devs --as-group ops` is two groups, as Go's http.Header keeps them, not one
 * group named "devs, ops". Like upstream, a repeated Impersonate-User or -Uid counts only its first
 * value (Header.Get), and an empty one counts as absent.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { forbiddenError, refusalReason } from '../api/forbidden.js';
import type { AuthorizationAttributes, UserInfo } from '../auth-types.js';
import { runAuthorization } from '../chains.js';
import { errors } from '../errors.js';
import type { Hooks } from '../hooks.js';

/** The headers of a request, each with every value it was sent with (IncomingMessage.headersDistinct). */
export type DistinctHeaders = Record<string, string[] | undefined>;

/** Upstream's unescapeExtraKey: %-decoded, or kept as sent when that fails. */
function extraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

function attributes(
  user: UserInfo,
  resource: string,
  name: string,
  apiGroup = '',
  subresource = '',
): AuthorizationAttributes {
  return {
    user,
    verb: 'impersonate',
    resourceRequest: true,
    namespace: '',
    apiGroup,
    apiVersion: '',
    resource,
    subresource,
    name,
    path: '',
  };
}

/** Whether the request asks for impersonation at all (checked on every request: kept cheap). */
export function wantsImpersonation(headers: IncomingHttpHeaders): boolean {
  for (const key in headers) if (key.startsWith('impersonate-')) return true;
  return false;
}

/** The user the request acts as: the real one, or the impersonated one when every check passes. */
export async function impersonate(hooks: Hooks, real: UserInfo, headers: DistinctHeaders): Promise<UserInfo> {
  const name = headers['impersonate-user']?.[0] || undefined;
  const groups = headers['impersonate-group'] ?? [];
  const uid = headers['impersonate-uid']?.[0] || undefined;
  const extra: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(headers)) {
    if (!key.startsWith('impersonate-extra-')) continue;
    const decoded = extraKey(key.slice(18));
    extra[decoded] = [...(extra[decoded] ?? []), ...(values ?? [])];
  }
  if (name === undefined) {
    if (groups.length || uid !== undefined || Object.keys(extra).length) {
      throw errors.badRequest('requested impersonation of groups, uid or extra without impersonating a user');
    }
    return real;
  }
  const checks: AuthorizationAttributes[] = [];
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(name);
  checks.push(
    sa ? { ...attributes(real, 'serviceaccounts', sa[2]!), namespace: sa[1]! } : attributes(real, 'users', name),
  );
  for (const g of groups) checks.push(attributes(real, 'groups', g));
  if (uid !== undefined) checks.push(attributes(real, 'uids', uid, 'authentication.k8s.io'));
  for (const [key, values] of Object.entries(extra)) {
    for (const v of values) checks.push(attributes(real, 'userextras', v, 'authentication.k8s.io', key));
  }
  for (const check of checks) {
    const decision = await runAuthorization(hooks, check);
    if (decision.decision !== 'allow') throw forbiddenError(check, refusalReason(decision));
  }
  const impersonatedGroups = [...groups];
  if (sa) impersonatedGroups.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`);
  if (name !== 'system:anonymous' && !impersonatedGroups.includes('system:authenticated')) {
    impersonatedGroups.push('system:authenticated');
  }
  const user: UserInfo = { name, groups: impersonatedGroups };
  if (uid !== undefined) user.uid = uid;
  if (Object.keys(extra).length) user.extra = extra;
  return user;
}
