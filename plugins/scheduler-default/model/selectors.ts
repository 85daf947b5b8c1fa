/**
 * Label selectors, node selectors and tolerations with upstream's semantics, compiled once per pod
 * into plain functions (Filter calls them for every node).
 *
 * - metav1.LabelSelector: a missing selector matches nothing, `{}` matches everything; matchLabels
 *   and matchExpressions (In, NotIn, Exists, DoesNotExist) are ANDed.
 * - v1.NodeSelector: terms are ORed, a term's requirements ANDed; an empty term matches nothing;
 *   Gt/Lt compare the label as an integer; matchFields knows metadata.name.
 */
export type Labels = Readonly<Record<string, string>>;
export type Matcher = (labels: Labels) => boolean;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export const MATCH_NOTHING: Matcher = () => false;
export const MATCH_EVERYTHING: Matcher = () => true;

/** A compiled selector, and whether it is upstream's "empty" (everything) selector. */
export interface Selector {
  matches: Matcher;
  /** `{}`: labels.Everything(), which upstream's Empty() calls empty. */
  empty: boolean;
  /** A missing selector: labels.Nothing(). */
  nothing: boolean;
}

export const NOTHING: Selector = { matches: MATCH_NOTHING, empty: false, nothing: true };
export const EVERYTHING: Selector = { matches: MATCH_EVERYTHING, empty: true, nothing: false };

type Requirement = (labels: Labels) => boolean;

function labelRequirement(key: string, operator: unknown, values: string[]): Requirement {
  switch (operator) {
    case 'In':
      return (l) => l[key] !== undefined && values.includes(l[key]!);
    case 'NotIn':
      return (l) => l[key] === undefined || !values.includes(l[key]!);
    case 'Exists':
      return (l) => l[key] !== undefined;
    case 'DoesNotExist':
      return (l) => l[key] === undefined;
    case 'Gt':
    case 'Lt':
      return numericRequirement(key, operator, values);
    default:
      // An operator the API would have refused: nothing can satisfy it.
      return () => false;
  }
}

function numericRequirement(key: string, operator: 'Gt' | 'Lt', values: string[]): Requirement {
  const bound = values.length === 1 && /^-?\d+$/.test(values[0]!) ? Number(values[0]) : Number.NaN;
  return (l) => {
    const v = l[key];
    if (v === undefined || Number.isNaN(bound) || !/^-?\d+$/.test(v)) return false;
    return operator === 'Gt' ? Number(v) > bound : Number(v) < bound;
  };
}

function all(requirements: Requirement[]): Matcher {
  if (requirements.length === 1) return requirements[0]!;
  return (l) => {
    for (const r of requirements) if (!r(l)) return false;
    return true;
  };
}

/** metav1.LabelSelectorAsSelector. */
export function labelSelector(selector: unknown): Selector {
  if (selector === undefined || selector === null) return NOTHING;
  const s = obj(selector);
  const requirements: Requirement[] = [];
  const matchLabels = obj(s.matchLabels);
  for (const key of Object.keys(matchLabels)) {
    const value = String(matchLabels[key]);
    requirements.push((l) => l[key] === value);
  }
  for (const e of Array.isArray(s.matchExpressions) ? s.matchExpressions.map(obj) : []) {
    requirements.push(labelRequirement(String(e.key), e.operator, strings(e.values)));
  }
  if (requirements.length === 0) return EVERYTHING;
  return { matches: all(requirements), empty: false, nothing: false };
}

/** labels.SelectorFromSet: every key equal (an empty set matches everything). */
export function setSelector(set: Labels): Selector {
  const keys = Object.keys(set);
  if (keys.length === 0) return EVERYTHING;
  return {
    matches: (l) => {
      for (const k of keys) if (l[k] !== set[k]) return false;
      return true;
    },
    empty: false,
    nothing: false,
  };
}

/** Both selectors must match (upstream's selector.Add of requirements). */
export function andSelectors(a: Selector, b: Selector): Selector {
  if (a.nothing || b.nothing) return NOTHING;
  if (a.empty) return b;
  if (b.empty) return a;
  return { matches: (l) => a.matches(l) && b.matches(l), empty: false, nothing: false };
}

/** A node as node selectors see it: its labels, and its name for matchFields. */
export interface NodeView {
  name: string;
  labels: Labels;
}
export type NodeMatcher = (node: NodeView) => boolean;

function fieldRequirement(e: Obj): (node: NodeView) => boolean {
  const values = strings(e.values);
  // metadata.name is the only field upstream's node selectors know.
  if (e.key !== 'metadata.name') return () => false;
  if (e.operator === 'In') return (n) => values.includes(n.name);
  if (e.operator === 'NotIn') return (n) => !values.includes(n.name);
  return () => false;
}

/** One NodeSelectorTerm; undefined when it is empty (upstream: it matches no node). */
export function nodeSelectorTerm(term: unknown): NodeMatcher | undefined {
  const t = obj(term);
  const expressions = Array.isArray(t.matchExpressions) ? t.matchExpressions.map(obj) : [];
  const fields = Array.isArray(t.matchFields) ? t.matchFields.map(obj) : [];
  if (expressions.length === 0 && fields.length === 0) return undefined;
  const labelReqs = expressions.map((e) => labelRequirement(String(e.key), e.operator, strings(e.values)));
  const fieldReqs = fields.map(fieldRequirement);
  return (n) => {
    for (const r of labelReqs) if (!r(n.labels)) return false;
    for (const r of fieldReqs) if (!r(n)) return false;
    return true;
  };
}

/** v1.NodeSelector: any term. */
export function nodeSelector(selector: unknown): NodeMatcher {
  const terms = (Array.isArray(obj(selector).nodeSelectorTerms) ? (obj(selector).nodeSelectorTerms as unknown[]) : [])
    .map(nodeSelectorTerm)
    .filter((t): t is NodeMatcher => t !== undefined);
  if (terms.length === 0) return () => false;
  if (terms.length === 1) return terms[0]!;
  return (n) => {
    for (const t of terms) if (t(n)) return true;
    return false;
  };
}

/** Preferred terms: the sum of the weights of the terms a node matches (upstream's PreferredSchedulingTerms). */
export function preferredTerms(terms: unknown): ((node: NodeView) => number) | undefined {
  const compiled = (Array.isArray(terms) ? terms.map(obj) : []).flatMap((t) => {
    const weight = Number(t.weight ?? 0);
    const match = nodeSelectorTerm(t.preference);
    return weight !== 0 && match ? [{ weight, match }] : [];
  });
  if (compiled.length === 0) return undefined;
  return (n) => {
    let sum = 0;
    for (const t of compiled) if (t.match(n)) sum += t.weight;
    return sum;
  };
}

/** The pod's required node placement: spec.nodeSelector AND required node affinity. */
export function requiredNodeAffinity(spec: Obj): NodeMatcher | undefined {
  const selector = obj(spec.nodeSelector);
  const keys = Object.keys(selector);
  const required = obj(obj(spec.affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution;
  const hasRequired = required !== undefined && required !== null;
  if (keys.length === 0 && !hasRequired) return undefined;
  const affinity = hasRequired ? nodeSelector(required) : undefined;
  return (n) => {
    for (const k of keys) if (n.labels[k] !== String(selector[k])) return false;
    return affinity ? affinity(n) : true;
  };
}
