/**
 * ABAC policy files, as upstream's pkg/auth/authorizer/abac: one JSON object per line, blank lines
 * and `#` comments skipped. A line is either a legacy unversioned policy (user, group, readonly,
 * resource, namespace) or an `abac.authorization.kubernetes.io/v1beta1` Policy. The first matching
 * line allows; no match is "no opinion". Every rule remembers its line, so decisions can say why.
 */
import type { AuthorizationAttributes, SubjectRules } from '../../core/auth-types.js';

export interface PolicyRule {
  line: number;
  user: string;
  group: string;
  readonly: boolean;
  apiGroup: string;
  resource: string;
  namespace: string;
  nonResourcePath: string;
  /** The line as written, for explanations. */
  source: string;
}

export interface ParsedPolicy {
  rules: PolicyRule[];
  /** Per line: what upstream would have done differently, or keys it does not know. */
  warnings: { line: number; message: string }[];
  errors: { line: number; message: string }[];
}

const V1BETA1 = 'abac.authorization.kubernetes.io/v1beta1';
const LEGACY_KEYS = ['user', 'group', 'readonly', 'resource', 'namespace'];
const SPEC_KEYS = ['user', 'group', 'readonly', 'apiGroup', 'resource', 'namespace', 'nonResourcePath'];

type Json = Record<string, unknown>;

function text(obj: Json, key: string, line: number, out: ParsedPolicy): string {
  const v = obj[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') {
    out.errors.push({ line, message: `"${key}" must be a string, got ${JSON.stringify(v)}` });
    return '';
  }
  if (v !== v.trim()) {
    out.warnings.push({
      line,
      message: `"${key}" value ${JSON.stringify(v)} has surrounding spaces; using "${v.trim()}"`,
    });
  }
  return v.trim();
}

/**
 * Reads the seed's "ns" as "namespace" (upstream never read it: `whatUpstreamDid` says what that
 * meant) and warns about every key upstream does not know.
 */
function checkKeys(
  obj: Json,
  known: string[],
  prefix: string,
  whatUpstreamDid: string,
  line: number,
  out: ParsedPolicy,
) {
  if ('ns' in obj && !('namespace' in obj)) {
    out.warnings.push({
      line,
      message: `key "${prefix}ns" read as "${prefix}namespace"; upstream Kubernetes never read "ns" and ${whatUpstreamDid}`,
    });
    obj.namespace = obj.ns;
  }
  for (const key of Object.keys(obj)) {
    if (!known.includes(key) && key !== 'ns')
      out.warnings.push({ line, message: `unknown key "${prefix}${key}" ignored` });
  }
}

/** Upstream's conversion of an unversioned (v0) line: empty fields widen to "*". */
function legacyRule(obj: Json, line: number, source: string, out: ParsedPolicy): PolicyRule {
  checkKeys(obj, LEGACY_KEYS, '', 'would have applied this line to every namespace', line, out);
  const user = text(obj, 'user', line, out);
  const group = text(obj, 'group', line, out);
  const resource = text(obj, 'resource', line, out);
  const namespace = text(obj, 'namespace', line, out);
  return {
    line,
    source,
    // In v0, a line naming neither user nor group applies to everyone.
    user,
    group: !user && !group ? '*' : group,
    readonly: obj.readonly === true,
    apiGroup: '*',
    resource: resource || '*',
    namespace: namespace || '*',
    // In v0, a line without a resource also covers non-resource paths.
    nonResourcePath: resource ? '' : '*',
  };
}

function v1beta1Rule(obj: Json, line: number, source: string, out: ParsedPolicy): PolicyRule | undefined {
  if (obj.kind !== 'Policy') {
    out.errors.push({
      line,
      message: `kind must be "Policy" for apiVersion ${V1BETA1}, got ${JSON.stringify(obj.kind)}`,
    });
    return undefined;
  }
  for (const key of Object.keys(obj)) {
    if (!['apiVersion', 'kind', 'spec'].includes(key))
      out.warnings.push({ line, message: `unknown key "${key}" ignored` });
  }
  const spec = (obj.spec ?? {}) as Json;
  checkKeys(spec, SPEC_KEYS, 'spec.', 'would have left namespace empty', line, out);
  return {
    line,
    source,
    user: text(spec, 'user', line, out),
    group: text(spec, 'group', line, out),
    readonly: spec.readonly === true,
    apiGroup: text(spec, 'apiGroup', line, out),
    resource: text(spec, 'resource', line, out),
    namespace: text(spec, 'namespace', line, out),
    nonResourcePath: text(spec, 'nonResourcePath', line, out),
  };
}

export function parsePolicy(content: string): ParsedPolicy {
  const out: ParsedPolicy = { rules: [], warnings: [], errors: [] };
  content.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const source = raw.trim();
    if (source === '' || source.startsWith('#')) return;
    let obj: unknown;
    try {
      obj = JSON.parse(source);
    } catch (err) {
      out.errors.push({ line, message: `not a JSON object: ${(err as Error).message}` });
      return;
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      out.errors.push({ line, message: 'not a JSON object' });
      return;
    }
    const o = obj as Json;
    if (o.apiVersion === undefined) out.rules.push(legacyRule(o, line, source, out));
    else if (o.apiVersion === V1BETA1) {
      const rule = v1beta1Rule(o, line, source, out);
      if (rule) out.rules.push(rule);
    } else out.errors.push({ line, message: `unknown apiVersion ${JSON.stringify(o.apiVersion)} (want ${V1BETA1})` });
  });
  return out;
}

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
