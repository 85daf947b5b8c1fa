// Decisions from a roles file, with upstream RBAC's matching rules (rbac.RuleAllows): a verb, group,
// resource and name must each be listed or `*`; `resource/subresource` is matched whole, `*/sub`
// matches any resource's `sub`; a non-resource URL matches exactly, or by prefix when the rule's
// ends in `*`. A namespaced binding holds only for requests in its namespace.
import type { AuthorizationAttributes, SubjectRules, UserInfo } from 'skiff/sdk/auth';
import type { RoleRule, RolesFile } from './load.js';

/** One role held by one subject through one binding. */
export interface Grant {
  role: string;
  rules: RoleRule[];
  namespace?: string;
  /** For decisions: `user "x"`, `group "g"` or `service account "ns/name"`. */
  subject: string;
}

const listed = (list: string[] | undefined, value: string) => !!list && (list.includes('*') || list.includes(value));

function resourceMatches(resources: string[], resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return resources.some((r) => r === '*' || r === combined || (subresource !== '' && r === `*/${subresource}`));
}

function urlMatches(urls: string[], path: string): boolean {
  return urls.some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

export function ruleAllows(rule: RoleRule, a: AuthorizationAttributes): boolean {
  if (!listed(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return !!rule.nonResourceURLs && urlMatches(rule.nonResourceURLs, a.path);
  return (
    !!rule.resources &&
    listed(rule.apiGroups, a.apiGroup) &&
    resourceMatches(rule.resources, a.resource, a.subresource) &&
    (!rule.resourceNames || rule.resourceNames.includes(a.name))
  );
}

const MAX_CACHED_USERS = 10_000;

/** The file's grants indexed by subject, so a request looks only at what its user holds. */
export class Grants {
  private readonly byUser = new Map<string, Grant[]>();
  private readonly byGroup = new Map<string, Grant[]>();
  private readonly cache = new Map<string, Grant[]>();

  constructor(file: RolesFile) {
    const add = (map: Map<string, Grant[]>, key: string, grant: Grant) => {
      const list = map.get(key);
      if (list) list.push(grant);
      else map.set(key, [grant]);
    };
    for (const b of file.bindings) {
      const base = { role: b.role, rules: file.roles[b.role]!, namespace: b.namespace };
      for (const u of b.users ?? []) add(this.byUser, u, { ...base, subject: `user "${u}"` });
      for (const g of b.groups ?? []) add(this.byGroup, g, { ...base, subject: `group "${g}"` });
      for (const sa of b.serviceAccounts ?? []) {
        const user = `system:serviceaccount:${sa.replace('/', ':')}`;
        add(this.byUser, user, { ...base, subject: `service account "${sa}"` });
      }
    }
  }

  /** Everything `user` holds, in file order of subjects (users first, then groups). */
  heldBy(user: UserInfo): Grant[] {
    const key = `${user.name}\u0000${user.groups.join('\u0000')}`;
    let held = this.cache.get(key);
    if (!held) {
      held = [...(this.byUser.get(user.name) ?? []), ...user.groups.flatMap((g) => this.byGroup.get(g) ?? [])];
      if (this.cache.size >= MAX_CACHED_USERS) this.cache.clear();
      this.cache.set(key, held);
    }
    return held;
  }

  /** The grant that allows the request, if any. */
  allowing(a: AuthorizationAttributes): Grant | undefined {
    return this.heldBy(a.user).find(
      (g) =>
        (g.namespace === undefined || (a.resourceRequest && g.namespace === a.namespace)) &&
        g.rules.some((r) => ruleAllows(r, a)),
    );
  }

  /** What `user` may do in `namespace` (SelfSubjectRulesReview): cluster-wide grants and that namespace's. */
  rulesFor(user: UserInfo, namespace: string): SubjectRules {
    const out: SubjectRules = { resourceRules: [], nonResourceRules: [] };
    for (const g of this.heldBy(user)) {
      if (g.namespace !== undefined && g.namespace !== namespace) continue;
      for (const r of g.rules) {
        if (r.nonResourceURLs) out.nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
        else {
          out.resourceRules.push({
            verbs: r.verbs,
            apiGroups: r.apiGroups ?? [],
            resources: r.resources ?? [],
            ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
          });
        }
      }
    }
    return out;
  }
}
