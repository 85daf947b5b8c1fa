/**
 * `skiff abac lint`: what a reader of a policy file is likely to miss. Lines shadowed by an earlier
 * line (they can never be the first match), and lines that grant more than they seem to because
 * empty fields widen to "*" in the legacy format.
 */
import type { ParsedPolicy, PolicyRule } from './policy.js';

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

export function lint(policy: ParsedPolicy): string[] {
  const out: string[] = [];
  for (const e of policy.errors) out.push(`line ${e.line}: error: ${e.message}`);
  for (const w of policy.warnings) out.push(`line ${w.line}: warning: ${w.message}`);
  policy.rules.forEach((rule, i) => {
    const earlier = policy.rules.slice(0, i).find((e) => shadows(e, rule));
    if (earlier) out.push(`line ${rule.line}: shadowed: line ${earlier.line} already allows everything it allows`);
    for (const note of widerThanItLooks(rule)) out.push(`line ${rule.line}: wide: ${note}`);
  });
  return out.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
}
