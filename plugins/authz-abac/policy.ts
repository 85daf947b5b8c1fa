/**
 * ABAC decisions, as upstream's pkg/auth/authorizer/abac: the first matching line allows; no match is
 * "no opinion". Every rule remembers its line, so decisions can say why. Reading the file is parse.ts.
 */
import type { AuthorizationAttributes, SubjectRules } from 'skiff/sdk/auth';
import type { PolicyRule } from './parse.js';

export { type ParsedPolicy, type PolicyError, type PolicyRule, type PolicyWarning, parsePolicy } from './parse.js';

const READ_ONLY = new Set(['get', 'list', 'watch']);

/** "*" means any authenticated user (or group member). */
function subjectMatches(rule: PolicyRule, a: AuthorizationAttributes): boolean {
  const authenticated = a.user.groups.includes('system:authenticated');
  let matched = false;
  if (rule.user) {
    if (rule.user === '*') matched = authenticated;
    else if (rule.user === a.user.name) matched = true;
    else return false;
  }
  if (rule.group) {
    if (rule.group === '*') matched = authenticated;
    else if (a.user.groups.includes(rule.group)) matched = true;
    else return false;
  }
  return matched;
}

function resourceMatches(rule: PolicyRule, a: AuthorizationAttributes): boolean {
  return (
    a.resourceRequest &&
    (rule.namespace === '*' || rule.namespace === a.namespace) &&
    (rule.resource === '*' || rule.resource === a.resource) &&
    (rule.apiGroup === '*' || rule.apiGroup === a.apiGroup)
  );
}

function nonResourceMatches(rule: PolicyRule, a: AuthorizationAttributes): boolean {
  if (a.resourceRequest || !rule.nonResourcePath) return false;
  const p = rule.nonResourcePath;
  return p === '*' || p === a.path || (p.endsWith('*') && a.path.startsWith(p.replace(/\*+$/, '')));
}

export function ruleMatches(rule: PolicyRule, a: AuthorizationAttributes): boolean {
  if (!subjectMatches(rule, a)) return false;
  if (rule.readonly && !READ_ONLY.has(a.verb)) return false;
  return resourceMatches(rule, a) || nonResourceMatches(rule, a);
}

/** The first matching rule, or undefined (no opinion). */
export function firstMatch(rules: PolicyRule[], a: AuthorizationAttributes): PolicyRule | undefined {
  return rules.find((r) => ruleMatches(r, a));
}

/**
 * Rules indexed by subject, so a request is checked against the lines that can name its user (by
 * name, by group or by "*") instead of the whole file. Candidate lists are cached per user and
 * group set; the index is rebuilt when the file is reloaded. First match still means lowest line.
 */
export class PolicyIndex {
  private readonly byUser = new Map<string, PolicyRule[]>();
  private readonly byGroup = new Map<string, PolicyRule[]>();
  private readonly anyone: PolicyRule[] = [];
  private readonly candidates = new Map<string, PolicyRule[]>();

  constructor(readonly rules: PolicyRule[]) {
    const add = (map: Map<string, PolicyRule[]>, key: string, r: PolicyRule) => {
      const list = map.get(key);
      if (list) list.push(r);
      else map.set(key, [r]);
    };
    for (const r of rules) {
      // A rule naming a specific user is only ever a candidate for that user, whatever its group.
      if (r.user && r.user !== '*') add(this.byUser, r.user, r);
      else if (r.group && r.group !== '*') add(this.byGroup, r.group, r);
      else this.anyone.push(r);
    }
  }

  private candidatesFor(user: { name: string; groups: string[] }): PolicyRule[] {
    const key = `${user.name}\u0000${user.groups.join('\u0000')}`;
    let list = this.candidates.get(key);
    if (!list) {
      const set = new Set<PolicyRule>([...(this.byUser.get(user.name) ?? []), ...this.anyone]);
      for (const g of user.groups) for (const r of this.byGroup.get(g) ?? []) set.add(r);
      list = [...set].sort((a, b) => a.line - b.line);
      if (this.candidates.size > 10_000) this.candidates.clear();
      this.candidates.set(key, list);
    }
    return list;
  }

  firstMatch(a: AuthorizationAttributes): PolicyRule | undefined {
    return firstMatch(this.candidatesFor(a.user), a);
  }
}

/** The rules a user has in a namespace, for SelfSubjectRulesReview (`kubectl auth can-i --list`). */
export function rulesFor(
  rules: PolicyRule[],
  user: { name: string; groups: string[] },
  namespace: string,
): SubjectRules {
  const out: SubjectRules = { resourceRules: [], nonResourceRules: [] };
  const probe = {
    user,
    verb: 'get',
    resourceRequest: true,
    namespace,
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    name: '',
    path: '',
  };
  for (const r of rules) {
    if (!subjectMatches(r, probe)) continue;
    const verbs = r.readonly ? ['get', 'list', 'watch'] : ['*'];
    if (r.resource && (r.namespace === '*' || r.namespace === namespace)) {
      out.resourceRules.push({ verbs, apiGroups: [r.apiGroup || '*'], resources: [r.resource] });
    }
    if (r.nonResourcePath) out.nonResourceRules.push({ verbs, nonResourceURLs: [r.nonResourcePath] });
  }
  return out;
}
