/**
 * Field sets as structured-merge-diff has them: the set of paths a manager owns, encoded as
 * upstream's FieldsV1 (`f:<field>`, `k:{"name":"c"}`, `v:<value>`, `i:<index>`, `.` for the item
 * itself), and their paths as upstream prints them. typed-value.ts walks objects into them.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };
/** A path: encoded path elements, e.g. ['f:spec', 'f:containers', 'k:{"name":"c"}', 'f:image']. */
export type FieldPath = string[];

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A tree of path elements; `member` says the path ending here is itself in the set. */
export class FieldSet {
  member = false;
  readonly children = new Map<string, FieldSet>();

  static of(paths: FieldPath[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: FieldPath): void {
    let node: FieldSet = this;
    for (const pe of path) {
      let next = node.children.get(pe);
      if (!next) {
        next = new FieldSet();
        node.children.set(pe, next);
      }
      node = next;
    }
    node.member = true;
  }

  has(path: FieldPath): boolean {
    const node = this.node(path);
    return node?.member ?? false;
  }

  /** Whether some member lies strictly below `path`. */
  hasBelow(path: FieldPath): boolean {
    const node = this.node(path);
    return !!node && [...node.children.values()].some((c) => !c.isEmpty());
  }

  private node(path: FieldPath): FieldSet | undefined {
    let node: FieldSet | undefined = this;
    for (const pe of path) {
      node = node.children.get(pe);
      if (!node) return undefined;
    }
    return node;
  }

  isEmpty(): boolean {
    if (this.member) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  /** Every member path, in upstream's iteration order: this level's members, then each child's. */
  paths(prefix: FieldPath = []): FieldPath[] {
    const out: FieldPath[] = [];
    const keys = sortedKeys(this.children);
    for (const k of keys) if (this.children.get(k)!.member) out.push([...prefix, k]);
    for (const k of keys) {
      const c = this.children.get(k)!;
      for (const p of c.paths([...prefix, k])) if (p.length > prefix.length + 1) out.push(p);
    }
    return out;
  }

  // The set operations walk both tries together (no path lists, no sorting): every write runs them.

  union(other: FieldSet): FieldSet {
    const out = this.copy();
    out.member ||= other.member;
    for (const [k, c] of other.children) {
      const mine = out.children.get(k);
      out.children.set(k, mine ? mine.union(c) : c.copy());
    }
    return out;
  }

  /** Members of this set not in `other` (exact paths, as Set.Difference). */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && !other.member;
    for (const [k, c] of this.children) {
      const theirs = other.children.get(k);
      const child = theirs ? c.difference(theirs) : c.copy();
      if (!child.isEmpty()) out.children.set(k, child);
    }
    return out;
  }

  /** Members of this set that are neither in `other` nor below one of its members. */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && !other.member;
    for (const [k, c] of this.children) {
      const theirs = other.children.get(k);
      if (theirs?.member) continue;
      const child = theirs ? c.recursiveDifference(theirs) : c.copy();
      if (!child.isEmpty()) out.children.set(k, child);
    }
    return out;
  }

  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && other.member;
    for (const [k, c] of this.children) {
      const theirs = other.children.get(k);
      if (!theirs) continue;
      const child = c.intersection(theirs);
      if (!child.isEmpty()) out.children.set(k, child);
    }
    return out;
  }

  equals(other: FieldSet): boolean {
    const a = this.paths().map((p) => JSON.stringify(p));
    const b = other.paths().map((p) => JSON.stringify(p));
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  copy(): FieldSet {
    const out = new FieldSet();
    out.member = this.member;
    for (const [k, c] of this.children) out.children.set(k, c.copy());
    return out;
  }

  /** Upstream's FieldsV1 JSON: `{".": {}, "f:name": {}, ...}`, keys sorted as upstream sorts them. */
  toFieldsV1(): JsonObject {
    return this.encode() ?? {};
  }

  /** This node's children as FieldsV1, or undefined when nothing below is a member (one pass). */
  private encode(): JsonObject | undefined {
    const keys = this.children.size > 1 ? sortedKeys(this.children) : [...this.children.keys()];
    let out: JsonObject | undefined;
    for (const k of keys) {
      const c = this.children.get(k)!;
      const below = c.encode();
      if (!below && !c.member) continue;
      out ??= {};
      out[k] = below ? (c.member ? { '.': {}, ...below } : below) : {};
    }
    return out;
  }

  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    const walk = (node: unknown, path: FieldPath) => {
      if (!isObject(node)) throw new Error('FieldsV1 must be an object');
      for (const [k, child] of Object.entries(node)) {
        if (k === '.') {
          s.insert(path);
          continue;
        }
        if (!/^[fkvi]:/.test(k)) throw new Error(`unknown FieldsV1 key ${k}`);
        const p = [...path, k];
        if (isObject(child) && Object.keys(child).length === 0) s.insert(p);
        else walk(child, p);
      }
    };
    walk(v, []);
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Path elements

export const fieldPE = (name: string) => `f:${name}`;

const RANK: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

function compareValues(a: Json, b: Json): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Upstream's PathElement ordering: fields, then keys, then values, then indexes. */
export function comparePE(a: string, b: string): number {
  const ra = RANK[a[0]!] ?? 4;
  const rb = RANK[b[0]!] ?? 4;
  if (ra !== rb) return ra - rb;
  // Two field names: both start "f:", so they order as the whole strings do (no copies made).
  if (a[0] === 'f') return a < b ? -1 : a > b ? 1 : 0;
  const x = a.slice(2);
  const y = b.slice(2);
  switch (a[0]) {
    case 'i':
      return Number(x) - Number(y);
    case 'v':
      return compareValues(JSON.parse(x) as Json, JSON.parse(y) as Json);
    default: {
      const ka = JSON.parse(x) as JsonObject;
      const kb = JSON.parse(y) as JsonObject;
      const names = [...new Set([...Object.keys(ka), ...Object.keys(kb)])].sort();
      for (const n of names) {
        if (!(n in ka)) return 1;
        if (!(n in kb)) return -1;
        const c = compareValues(ka[n]!, kb[n]!);
        if (c !== 0) return c;
      }
      return 0;
    }
  }
}

function sortedKeys(m: Map<string, unknown>): string[] {
  return [...m.keys()].sort(comparePE);
}

/** Go's value.ToString for a key or set value: strings quoted, numbers and bools as they are. */
function valueString(v: Json): string {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
}

/** Upstream's Path.String(): `.spec.containers[name="c"].image`. */
export function pathString(path: FieldPath): string {
  return path
    .map((pe) => {
      const rest = pe.slice(2);
      switch (pe[0]) {
        case 'f':
          return `.${rest}`;
        case 'k': {
          const key = JSON.parse(rest) as JsonObject;
          return `[${Object.keys(key)
            .sort()
            .map((n) => `${n}=${valueString(key[n]!)}`)
            .join(',')}]`;
        }
        case 'v':
          return `[=${valueString(JSON.parse(rest) as Json)}]`;
        default:
          return `[${rest}]`;
      }
    })
    .join('');
}
