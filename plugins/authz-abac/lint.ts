/**
 * `skiff abac lint`: what a reader of a policy file is likely to miss. Lines the server refuses
 * (errors: the whole file is then refused), lines shadowed by an earlier line (they can never be the
 * first match), lines that grant more than they seem to because empty fields widen to "*" in the
 * legacy format, and namespaces no namespace can be called.
 */
import { policyProblems } from './load.js';
import type { ParsedPolicy, PolicyRule } from './parse.js';

const covers = (wide: string, narrow: string) => wide === '*' || wide === narrow;

function subjectCovers(e: PolicyRule, l: PolicyRule): boolean {
  if (!e.user && !e.group) return false;
  if (e.user && !covers(e.user, l.user)) return false;
  if (e.group && !covers(e.group, l.group)) return false;
  return true;
}

function pathCovers(e: string, l: string): boolean {
  if (!e || !l) return false;
  if (e === '*' || e === l) return true;
  return e.endsWith('*') && l.startsWith(e.replace(/\*+$/, ''));
}

/** Whether every request `l` allows is already allowed by `e`. */
export function shadows(e: PolicyRule, l: PolicyRule): boolean {
  if (!subjectCovers(e, l)) return false;
  if (e.readonly && !l.readonly) return false;
  const resourcePart =
    !l.resource ||
    (covers(e.namespace, l.namespace) && covers(e.resource, l.resource) && covers(e.apiGroup, l.apiGroup));
  const resourceOk = l.resource ? Boolean(e.resource) && resourcePart : true;
  const pathOk = l.nonResourcePath ? pathCovers(e.nonResourcePath, l.nonResourcePath) : true;
  return resourceOk && pathOk && (Boolean(l.resource) || Boolean(l.nonResourcePath));
}

function widerThanItLooks(r: PolicyRule): string[] {
  const notes: string[] = [];
  const legacy = !r.source.includes('"apiVersion"');
  if (r.user === '*' || r.group === '*') notes.push('applies to every authenticated user ("*")');
  if (legacy && !r.source.includes('"user"') && !r.source.includes('"group"')) {
    notes.push('names neither user nor group: applies to everyone');
  }
  if (legacy && r.namespace === '*' && r.resource !== '*') notes.push('has no namespace: applies in every namespace');
  if (legacy && r.nonResourcePath === '*') {
    notes.push('has no resource: allows every resource in every API group, and every non-resource path');
  }
  if (!r.readonly && r.resource === '*' && r.apiGroup === '*')
    notes.push('allows writes to every resource, secrets included');
  return notes;
}

// A namespace's name is an RFC 1123 label, as upstream validates it.
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const isNamespaceName = (name: string) => NAMESPACE_NAME.test(name);

function impossibleNamespace(r: PolicyRule): string | undefined {
  if (r.namespace === '' || r.namespace === '*' || isNamespaceName(r.namespace)) return undefined;
  return (
    `namespace ${JSON.stringify(r.namespace)} is not a valid namespace name (at most 63 lowercase letters, ` +
    'digits and "-"), so no such namespace can exist: the line only ever matches requests for a missing namespace'
  );
}

/** Findings, one a line, in line order; errors (with their fix) first within a line. */
export function lint(policy: ParsedPolicy, strict = false): string[] {
  const out: string[] = [];
  for (const e of policyProblems(policy, strict)) out.push(`line ${e.line}: error: ${e.message} (fix: ${e.fix})`);
  for (const w of policy.warnings) {
    if (!(strict && w.unknownKey)) out.push(`line ${w.line}: warning: ${w.message}`);
  }
  policy.rules.forEach((rule, i) => {
    const badNamespace = impossibleNamespace(rule);
    if (badNamespace) out.push(`line ${rule.line}: warning: ${badNamespace}`);
    const earlier = policy.rules.slice(0, i).find((e) => shadows(e, rule));
    if (earlier) out.push(`line ${rule.line}: shadowed: line ${earlier.line} already allows everything it allows`);
    for (const note of widerThanItLooks(rule)) out.push(`line ${rule.line}: wide: ${note}`);
  });
  return out.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
}
