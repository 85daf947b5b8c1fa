/**
 * Label and field selectors with upstream's grammar (k8s.io/apimachinery pkg/labels, pkg/fields).
 * Unparseable selectors are the client's 400 BadRequest, with a message that points at the problem.
 */
import { errors } from '../errors.js';
import { labelValueErrors, qualifiedNameErrors } from './validation.js';

export type LabelOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type LabelSelector = LabelRequirement[];

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

export type FieldSelector = FieldRequirement[];

function bad(selector: string, why: string): never {
  throw errors.badRequest(`unable to parse requirement: ${why} (in selector "${selector}")`);
}

/** Split on commas that are not inside parentheses. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function checkKey(selector: string, key: string): void {
  const errs = qualifiedNameErrors(key);
  if (!key || errs.length) bad(selector, `invalid label key "${key}": ${errs.join('; ') || 'empty'}`);
}

function checkValue(selector: string, value: string): void {
  const errs = labelValueErrors(value);
  if (errs.length) bad(selector, `invalid label value: "${value}": ${errs.join('; ')}`);
}

const SET_RE = /^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$/;
const EQ_RE = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/;

export function parseLabelSelector(selector: string): LabelSelector {
  if (!selector.trim()) return [];
  const reqs: LabelSelector = [];
  for (const part of splitTopLevel(selector)) {
    const s = part.trim();
    if (!s) bad(selector, 'found empty requirement');
    const set = SET_RE.exec(s);
    if (set) {
      const [, key, op, list] = set as unknown as [string, string, 'in' | 'notin', string];
      checkKey(selector, key);
      const values = list.split(',').map((v) => v.trim());
      if (values.length === 1 && values[0] === '')
        bad(selector, `for 'in', 'notin' operators, values set can't be empty`);
      for (const v of values) checkValue(selector, v);
      reqs.push({ key, operator: op, values });
      continue;
    }
    const eq = EQ_RE.exec(s);
    if (eq) {
      const [, key, op, value] = eq as unknown as [string, string, string, string];
      checkKey(selector, key);
      checkValue(selector, value);
      reqs.push({ key, operator: op === '!=' ? '!=' : '=', values: [value] });
      continue;
    }
    if (s.startsWith('!')) {
      const key = s.slice(1).trim();
      checkKey(selector, key);
      reqs.push({ key, operator: '!', values: [] });
      continue;
    }
    if (/[\s()=]/.test(s)) bad(selector, `found '${s}', expected: in, notin, =, ==, !=, or end of string`);
    checkKey(selector, s);
    reqs.push({ key: s, operator: 'exists', values: [] });
  }
  return reqs;
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of selector) {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.operator) {
      case '=':
        if (!has || v !== r.values[0]) return false;
        break;
      case '!=':
        if (has && v === r.values[0]) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v!)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** A plain map selector (ReplicationController.spec.selector): every pair must match. */
export function selectorFromSet(set: Record<string, string> | undefined): LabelSelector {
  return Object.entries(set ?? {}).map(([key, value]) => ({ key, operator: '=' as const, values: [value] }));
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

const EXPRESSION_OPERATORS = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const;

/** metav1.LabelSelector → requirements. */
export function labelSelectorFromObject(obj: LabelSelectorObject | undefined): LabelSelector {
  const reqs = selectorFromSet(obj?.matchLabels);
  for (const e of obj?.matchExpressions ?? []) {
    const operator = EXPRESSION_OPERATORS[e.operator];
    if (!operator) throw errors.badRequest(`"${e.operator}" is not a valid label selector operator`);
    reqs.push({ key: e.key, operator, values: e.values ?? [] });
  }
  return reqs;
}

export function labelSelectorString(selector: LabelSelector): string {
  return selector
    .map((r) => {
      if (r.operator === 'exists') return r.key;
      if (r.operator === '!') return `!${r.key}`;
      if (r.operator === 'in' || r.operator === 'notin') return `${r.key} ${r.operator} (${r.values.join(',')})`;
      return `${r.key}${r.operator}${r.values[0]}`;
    })
    .join(',');
}

/** Split a field selector on unescaped commas, then each term on its unescaped operator. */
export function parseFieldSelector(selector: string): FieldSelector {
  if (!selector.trim()) return [];
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i]!;
    if (ch === '\\' && i + 1 < selector.length) {
      cur += ch + selector[++i];
    } else if (ch === ',') {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  return terms.map((t) => parseFieldTerm(selector, t));
}

function parseFieldTerm(selector: string, term: string): FieldRequirement {
  for (let i = 0; i < term.length; i++) {
    const ch = term[i]!;
    if (ch === '\\') {
      i++;
      continue;
    }
    let op: '=' | '!=' | undefined;
    let len = 0;
    if (term.startsWith('!=', i)) [op, len] = ['!=', 2];
    else if (term.startsWith('==', i)) [op, len] = ['=', 2];
    else if (ch === '=') [op, len] = ['=', 1];
    if (op) {
      const field = term.slice(0, i).trim();
      if (!field) break;
      return { field, operator: op, value: unescapeField(selector, term.slice(i + len)) };
    }
  }
  throw errors.badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
}

function unescapeField(selector: string, v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '\\') {
      const next = v[i + 1];
      if (next !== '\\' && next !== ',' && next !== '=')
        throw errors.badRequest(`invalid field selector: '${selector}': invalid escape sequence`);
      out += next;
      i++;
    } else if (v[i] === ',' || v[i] === '=') {
      throw errors.badRequest(`invalid field selector: '${selector}': unescaped '${v[i]}' in value`);
    } else out += v[i];
  }
  return out;
}

export function matchesFields(selector: FieldSelector, get: (field: string) => string | undefined): boolean {
  for (const r of selector) {
    const v = get(r.field) ?? '';
    if (r.operator === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

export function validateFieldSelector(selector: FieldSelector, supported: Set<string>): void {
  for (const r of selector) {
    if (!supported.has(r.field)) throw errors.badRequest(`field label not supported: ${r.field}`);
  }
}

/** The value a selector pins a field to with `=`, if it does. */
export function exactMatch(selector: FieldSelector, field: string): string | undefined {
  return selector.find((r) => r.field === field && r.operator === '=')?.value;
}
