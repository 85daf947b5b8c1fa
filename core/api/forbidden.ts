/** Upstream's 403 wording, which people grep for: keep it letter for letter. */
import type { AuthorizationAttributes, AuthorizationDecision } from '../auth-types.js';
import { StatusError } from '../errors.js';

/**
 * The reason a refusal shows after upstream's message: a deny's own reason, or the no-opinion
 * reasons the chain kept (upstream's WithAuthorization appends whatever reason the union returned).
 */
export function refusalReason(decision: AuthorizationDecision): string {
  return decision.decision === 'deny' ? decision.reason : (decision.noOpinionReason ?? '');
}

export function forbiddenError(a: AuthorizationAttributes, reason: string): StatusError {
  const who = `User "${a.user.name}"`;
  const suffix = reason ? `: ${reason}` : '';
  if (!a.resourceRequest) {
    return new StatusError(403, 'Forbidden', `forbidden: ${who} cannot ${a.verb} path "${a.path}"${suffix}`, {});
  }
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const subject = a.name ? `${qualified} "${a.name}"` : qualified;
  return new StatusError(
    403,
    'Forbidden',
    `${subject} is forbidden: ${who} cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}${suffix}`,
    { name: a.name || undefined, group: a.apiGroup, kind: a.resource },
  );
}
