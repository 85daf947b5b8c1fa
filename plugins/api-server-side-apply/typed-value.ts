/**
 * Objects walked as structured-merge-diff's TypedValue: the fields a configuration sets, what
 * changed between two objects, an applied configuration merged into a live object. The schema is
 * the kind's PatchMeta: a list with a merge key is an associative list keyed by it, a merge list
 * without a key (finalizers) is a set, every other list is atomic; every map is granular.
 */
import { errors } from 'skiff/sdk';
import { clone, itemKeyFields, type MergeRule, ownValue, type PatchMeta, setOwn } from 'skiff/sdk/api';
import { type FieldPath, FieldSet, fieldPE, isObject, type Json, type JsonObject, pathString } from './field-set.js';

/**
 * The kind's PatchMeta, plus the maps and structs that upstream's schema makes atomic
 * (`+mapType=atomic`, `+structType=atomic`: a selector, an owner reference): such a value is
 * owned, compared and replaced whole, as a leaf.
 */
export interface SchemaMeta {
  readonly [path: string]: PatchMeta[string] | { strategy: 'atomic' };
}

/** Whether the map at a path is atomic. */
const atomic = (meta: SchemaMeta, sp: string) => ownValue(meta, sp)?.strategy === 'atomic';

/** How a list at a path behaves: a map's items are named by their key fields, sorted (defaults stand in). */
export type ListRule = { kind: 'atomic' } | { kind: 'map'; rule: MergeRule } | { kind: 'set' };

export function listRule(meta: SchemaMeta, schemaPath: string): ListRule {
  const rule = ownValue(meta, schemaPath);
  if (rule?.strategy !== 'merge') return { kind: 'atomic' };
  return rule.mergeKey ? { kind: 'map', rule } : { kind: 'set' };
}

const childSchema = (sp: string, key: string) => (sp ? `${sp}.${key}` : key);

/** The key field a map item lacks, with no default to stand in (structured-merge-diff then refuses it). */
function missingKey({ rule }: ListRule & { kind: 'map' }, item: JsonObject): string | undefined {
  const missing = (k: string) => (item[k] === undefined || item[k] === null) && rule.keyDefaults?.[k] === undefined;
  return (rule.listMapKeys ?? [rule.mergeKey]).find(missing);
}

/** The path element of a list item, or undefined when it has none (no merge key). */
export function itemPE(rule: ListRule, item: Json): string | undefined {
  if (rule.kind === 'set') return `v:${JSON.stringify(item)}`;
  const fields = rule.kind === 'map' && isObject(item) ? itemKeyFields(rule.rule, item) : undefined;
  return fields && `k:${JSON.stringify(Object.fromEntries(fields))}`;
}

/** Index a list by path element; undefined when an item lacks a key or keys repeat (then: atomic). */
function indexList(rule: ListRule, list: Json[]): Map<string, Json> | undefined {
  if (rule.kind === 'atomic') return undefined;
  const out = new Map<string, Json>();
  for (const item of list) {
    const pe = itemPE(rule, item);
    if (pe === undefined || out.has(pe)) return undefined;
    out.set(pe, item);
  }
  return out;
}

/** Refuse an applied configuration whose associative lists cannot be keyed (upstream: 400/422). */
export function checkApplyLists(v: Json, meta: SchemaMeta, sp = '', at = ''): void {
  if (isObject(v)) {
    for (const [k, c] of Object.entries(v)) checkApplyLists(c, meta, childSchema(sp, k), `${at}.${k}`);
    return;
  }
  if (!Array.isArray(v)) return;
  const rule = listRule(meta, sp);
  if (rule.kind === 'atomic') return;
  const seen = new Set<string>();
  v.forEach((item, i) => {
    const pe = itemPE(rule, item);
    if (pe === undefined && rule.kind === 'map') {
      const why = isObject(item)
        ? `has an element that omits key field "${missingKey(rule, item)}" (and doesn't have default value)`
        : item === null
          ? 'may not have a null element'
          : 'may not have non-map elements';
      throw errors.badRequest(`${at}: element ${i}: associative list with keys ${why}`);
    }
    if (pe !== undefined && seen.has(pe)) {
      throw errors.badRequest(`${at}: duplicate entries for key ${pathString([pe])}`);
    }
    if (pe !== undefined) seen.add(pe);
    checkApplyLists(item, meta, `${sp}[]`, `${at}[${i}]`);
  });
}

// ---------------------------------------------------------------------------------------------
// ToFieldSet, Compare, Merge, RemoveItems

/** The fields an applied configuration sets (upstream's TypedValue.ToFieldSet). */
export function toFieldSet(v: Json, meta: SchemaMeta): FieldSet {
  const set = new FieldSet();
  const walk = (x: Json, sp: string, path: FieldPath) => {
    if (isObject(x) && !atomic(meta, sp)) {
      for (const [k, c] of Object.entries(x)) walk(c, childSchema(sp, k), [...path, fieldPE(k)]);
      return;
    }
    if (Array.isArray(x)) {
      const rule = listRule(meta, sp);
      const index = indexList(rule, x);
      if (!index) {
        set.insert(path);
        return;
      }
      for (const [pe, item] of index) {
        const p = [...path, pe];
        if (rule.kind === 'map') walk(item, `${sp}[]`, p);
        set.insert(p);
      }
      return;
    }
    set.insert(path);
  };
  if (isObject(v)) walk(v, '', []);
  return set;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/**
 * What changed from `lhs` to `rhs` (upstream's TypedValue.Compare). A map or list item that
 * appears is itself added (`.`) along with its fields; one that goes is removed with its fields.
 */
export function compare(lhs: Json | undefined, rhs: Json | undefined, meta: SchemaMeta): Comparison {
  const out: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  compareAt(lhs ?? {}, rhs ?? {}, '', [], meta, out);
  return out;
}

// compare's walk, as functions of their own rather than closures made per call: under tsx every
// closure made also gets its name set, and compare runs for every write.
function insertAll(x: Json, sp: string, path: FieldPath, into: FieldSet, meta: SchemaMeta): void {
  into.insert(path);
  if (isObject(x) && !atomic(meta, sp)) {
    for (const [k, c] of Object.entries(x)) insertAll(c, childSchema(sp, k), [...path, fieldPE(k)], into, meta);
  } else if (Array.isArray(x) && x.length > 0) {
    const rule = listRule(meta, sp);
    const index = indexList(rule, x);
    if (index) for (const [pe, item] of index) insertAll(item, `${sp}[]`, [...path, pe], into, meta);
  }
}

function compareAt(
  a: Json | undefined,
  b: Json | undefined,
  sp: string,
  path: FieldPath,
  meta: SchemaMeta,
  out: Comparison,
): void {
  if (a === undefined && b === undefined) return;
  // null is an empty value of the other side's type (a Go nil slice or map), not a change of type.
  if (a === null && (isObject(b) || Array.isArray(b))) a = Array.isArray(b) ? [] : {};
  if (b === null && (isObject(a) || Array.isArray(a))) b = Array.isArray(a) ? [] : {};
  if (a === undefined) {
    insertAll(b!, sp, path, out.added, meta);
    return;
  }
  if (b === undefined) {
    insertAll(a, sp, path, out.removed, meta);
    return;
  }
  if (isObject(a) && isObject(b) && !atomic(meta, sp)) {
    if (Object.keys(a).length === 0 && Object.keys(b).length === 0) return;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)]))
      compareAt(a[k], b[k], childSchema(sp, k), [...path, fieldPE(k)], meta, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && (a.length > 0 || b.length > 0)) {
    const rule = listRule(meta, sp);
    const ia = indexList(rule, a);
    const ib = indexList(rule, b);
    if (ia && ib) {
      for (const pe of new Set([...ia.keys(), ...ib.keys()]))
        compareAt(ia.get(pe), ib.get(pe), `${sp}[]`, [...path, pe], meta, out);
      return;
    }
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.modified.insert(path);
}

/** Merge an applied configuration into the live object (upstream's TypedValue.Merge). */
export function merge(live: Json | undefined, config: Json, meta: SchemaMeta, sp = ''): Json {
  if (isObject(config) && !atomic(meta, sp)) {
    const out: JsonObject = isObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(config)) {
      if (v === null) delete out[k];
      else setOwn(out, k, merge(ownValue(out, k), v, meta, childSchema(sp, k)));
    }
    return out;
  }
  if (Array.isArray(config) && Array.isArray(live)) {
    const rule = listRule(meta, sp);
    const ilive = indexList(rule, live);
    const iconf = indexList(rule, config);
    if (!ilive || !iconf) return clone(config);
    const out = [...live];
    const at = new Map([...ilive.keys()].map((pe, i) => [pe, i]));
    for (const [pe, item] of iconf) {
      const i = at.get(pe);
      if (i === undefined) out.push(clone(item));
      else out[i] = rule.kind === 'map' ? merge(out[i], item, meta, `${sp}[]`) : item;
    }
    return out;
  }
  return clone(config);
}

/** Remove the value at `path` from `obj` (in place); maps and lists it empties go too. */
export function removePath(obj: JsonObject, path: FieldPath, meta: SchemaMeta): void {
  const parents: { container: JsonObject | Json[]; pe: string }[] = [];
  let cur: Json = obj;
  let sp = '';
  for (const pe of path) {
    if (isObject(cur) && pe.startsWith('f:')) {
      const name = pe.slice(2);
      if (!Object.hasOwn(cur, name)) return;
      parents.push({ container: cur, pe });
      cur = cur[name]!;
      sp = childSchema(sp, name);
    } else if (Array.isArray(cur)) {
      const rule = listRule(meta, sp);
      const i = cur.findIndex((item) => itemPE(rule, item) === pe);
      if (i < 0) return;
      parents.push({ container: cur, pe });
      cur = cur[i]!;
      sp = `${sp}[]`;
    } else {
      return;
    }
  }
  for (let depth = parents.length - 1; depth >= 0; depth--) {
    const { container, pe } = parents[depth]!;
    if (Array.isArray(container)) {
      const i = container.findIndex((item) => itemPE(listRuleAt(meta, path, depth), item) === pe);
      if (i >= 0) container.splice(i, 1);
    } else {
      delete container[pe.slice(2)];
    }
    // Keep going up only while the removal left an empty map or list behind (depth 0 is the object).
    const empty = Array.isArray(container) ? container.length === 0 : Object.keys(container).length === 0;
    if (!empty || depth === 0) return;
  }
}

function listRuleAt(meta: SchemaMeta, path: FieldPath, depth: number): ListRule {
  let sp = '';
  for (const pe of path.slice(0, depth)) sp = pe.startsWith('f:') ? childSchema(sp, pe.slice(2)) : `${sp}[]`;
  return listRule(meta, sp);
}
