/**
 * Upstream's audit Policy (audit.k8s.io/v1): rules in order, the first that matches a request sets
 * its level (None, Metadata, Request, RequestResponse) and the stages to leave out.
 */
import type { AuditRecord, AuditStage } from 'skiff/sdk/auth';

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
const LEVELS: AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
const STAGES: AuditStage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];

export interface GroupResources {
  group?: string;
  resources?: string[];
  resourceNames?: string[];
}

export interface PolicyRule {
  level: AuditLevel;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: GroupResources[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: AuditStage[];
}

export interface AuditPolicy {
  rules: PolicyRule[];
  omitStages: AuditStage[];
}

/** Everything at Metadata: what Skiff writes when no policy file is given. */
export const DEFAULT_POLICY: AuditPolicy = { rules: [{ level: 'Metadata' }], omitStages: [] };

/** Validates a parsed policy document; returns the problems, each naming where. */
export function checkPolicy(doc: unknown): { policy?: AuditPolicy; problems: string[] } {
  const problems: string[] = [];
  const d = (doc ?? {}) as { apiVersion?: unknown; kind?: unknown; rules?: unknown; omitStages?: unknown };
  if (d.kind !== 'Policy') problems.push(`kind must be "Policy", got ${JSON.stringify(d.kind)}`);
  if (typeof d.apiVersion !== 'string' || !d.apiVersion.startsWith('audit.k8s.io/')) {
    problems.push(`apiVersion must be audit.k8s.io/v1, got ${JSON.stringify(d.apiVersion)}`);
  }
  if (!Array.isArray(d.rules)) problems.push('rules must be a list');
  const stagesOk = (v: unknown, where: string) => {
    if (v === undefined) return;
    if (!Array.isArray(v) || v.some((s) => !STAGES.includes(s)))
      problems.push(`${where}: stages must be among ${STAGES.join(', ')}`);
  };
  stagesOk(d.omitStages, 'omitStages');
  (Array.isArray(d.rules) ? d.rules : []).forEach((r: PolicyRule, i: number) => {
    if (!LEVELS.includes(r?.level)) problems.push(`rules[${i}].level must be one of ${LEVELS.join(', ')}`);
    stagesOk(r?.omitStages, `rules[${i}].omitStages`);
    if (r?.nonResourceURLs && (r.resources || r.namespaces)) {
      problems.push(`rules[${i}]: nonResourceURLs cannot be combined with resources or namespaces`);
    }
  });
  if (problems.length) return { problems };
  return {
    policy: { rules: d.rules as PolicyRule[], omitStages: (d.omitStages as AuditStage[]) ?? [] },
    problems,
  };
}

const inList = (list: string[] | undefined, value: string) => !list || list.length === 0 || list.includes(value);

function resourceMatches(rule: PolicyRule, r: AuditRecord): boolean {
  if (!r.resourceRequest || !r.objectRef) return false;
  if (rule.namespaces?.length && !rule.namespaces.includes(r.objectRef.namespace ?? '')) return false;
  if (!rule.resources?.length) return true;
  const group = r.objectRef.apiGroup ?? '';
  const full = r.objectRef.subresource ? `${r.objectRef.resource}/${r.objectRef.subresource}` : r.objectRef.resource;
  return rule.resources.some((gr) => {
    if ((gr.group ?? '') !== group && gr.group !== '*') return false;
    const names = gr.resources ?? [];
    const nameOk =
      names.length === 0 ||
      names.some(
        (n) =>
          n === '*' ||
          n === full ||
          (n.endsWith('/*') && full.startsWith(`${n.slice(0, -2)}/`)) ||
          (n.startsWith('*/') && r.objectRef!.subresource === n.slice(2)),
      );
    return nameOk && inList(gr.resourceNames, r.objectRef!.name ?? '');
  });
}

function nonResourceMatches(rule: PolicyRule, r: AuditRecord): boolean {
  if (r.resourceRequest) return false;
  const path = r.requestURI.split('?')[0]!;
  return (rule.nonResourceURLs ?? []).some(
    (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))),
  );
}

export function ruleMatches(rule: PolicyRule, r: AuditRecord): boolean {
  const user = r.user?.name ?? 'system:anonymous';
  const groups = r.user?.groups ?? ['system:unauthenticated'];
  if (rule.users?.length && !rule.users.includes(user)) return false;
  if (rule.userGroups?.length && !rule.userGroups.some((g) => groups.includes(g))) return false;
  if (!inList(rule.verbs, r.verb)) return false;
  if (rule.nonResourceURLs?.length) return nonResourceMatches(rule, r);
  if (rule.resources?.length || rule.namespaces?.length) return resourceMatches(rule, r);
  return true;
}

/** The level and omitted stages for a request: first matching rule; none matching = None. */
export function levelFor(policy: AuditPolicy, r: AuditRecord): { level: AuditLevel; omitStages: AuditStage[] } {
  const rule = policy.rules.find((x) => ruleMatches(x, r));
  if (!rule) return { level: 'None', omitStages: policy.omitStages };
  return { level: rule.level, omitStages: [...policy.omitStages, ...(rule.omitStages ?? [])] };
}
