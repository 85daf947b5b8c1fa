/**
 * JSON Patch (RFC 6902) as upstream applies it (gopkg.in/evanphx/json-patch.v4, used by the
 * apiserver's patch handler). Written out rather than taken from a library because upstream's
 * semantics are the contract and the library Skiff used reached through prototypes: here a path
 * walks own properties only, so "__proto__", "constructor" or "toString" are keys like any other.
 * Upstream's quirks are kept: a negative array index counts from the end, `replace` of a missing
 * object key adds it, a missing `value` is null. Every failure is a JsonPatchError carrying
 * upstream's text; json-patch-type.ts answers it as upstream does (422).
 */
import { clone, ownValue, setOwn } from 'skiff/sdk/api';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };
type Container = JsonObject | Json[];

/** Upstream's limit on what `copy` operations may add up to (apiserver --json-patch-max-copy-bytes). */
export const MAX_COPY_BYTES = 3 * 1024 * 1024;

const MISSING = 'missing value';
/** What Go's strconv.Atoi reads (a sign, digits), kept within JavaScript's exact integers. */
const INTEGER = /^[+-]?\d{1,15}$/;
const INVALID_INDEX = 'invalid index referenced';

export class JsonPatchError extends Error {
  override readonly name = 'JsonPatchError';
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Apply `ops` to `doc`, which the caller owns (it is changed in place); returns the new document. */
export function applyJsonPatch(doc: Json, ops: readonly unknown[]): Json {
  const state = { doc, copied: 0 };
  for (const raw of ops) {
    const op = isObject(raw) ? raw : {};
    const kind = typeof op.op === 'string' ? op.op : 'unknown';
    const apply = OPERATIONS.get(kind);
    if (!apply) throw new JsonPatchError(`Unexpected kind: ${kind}`);
    apply(state, op);
  }
  return state.doc;
}

interface State {
  doc: Json;
  /** Bytes added by `copy` so far. */
  copied: number;
}

type Operation = (state: State, op: JsonObject) => void;

const OPERATIONS = new Map<string, Operation>(Object.entries({ add, remove, replace, move, copy, test }));

// ------------------------------------------------------------------ operations

function add(state: State, op: JsonObject): void {
  const path = pathOf(op, 'path');
  if (path === undefined) fail(`add operation failed to decode path: ${MISSING}`);
  const at = findParent(state.doc, path);
  if (!at) fail(`add operation does not apply: doc is missing path: "${path}": ${MISSING}`);
  insert(at.parent, at.key, opValue(op), `error in add for path: '${path}'`);
}

function remove(state: State, op: JsonObject): void {
  const path = pathOf(op, 'path');
  if (path === undefined) fail(`remove operation failed to decode path: ${MISSING}`);
  const at = findParent(state.doc, path);
  if (!at) fail(`remove operation does not apply: doc is missing path: "${path}": ${MISSING}`);
  removeChild(at.parent, at.key, `error in remove for path: '${path}'`);
}

function replace(state: State, op: JsonObject): void {
  const path = pathOf(op, 'path');
  if (path === undefined) fail(`replace operation failed to decode path: ${decodeFailure(op, 'path')}`);
  if (path === '') {
    const value = opValue(op);
    if (typeof value !== 'object' || value === null) fail('replace operation value must be object or array');
    state.doc = value;
    return;
  }
  const at = findParent(state.doc, path);
  if (!at) fail(`replace operation does not apply: doc is missing path: ${path}: ${MISSING}`);
  // Upstream reads the key first: a missing array index fails, a missing object key does not.
  if (Array.isArray(at.parent) && arrayIndex(at.key, at.parent.length) === undefined)
    fail(`replace operation does not apply: doc is missing key: ${path}: ${MISSING}`);
  setChild(at.parent, at.key, opValue(op));
}

function move(state: State, op: JsonObject): void {
  const from = pathOf(op, 'from');
  if (from === undefined) fail(`move operation failed to decode from: ${decodeFailure(op, 'from')}`);
  const source = findParent(state.doc, from);
  if (!source) fail(`move operation does not apply: doc is missing from path: ${from}: ${MISSING}`);
  const value = getChild(source.parent, source.key, `error in move for path: '${source.key}'`);
  removeChild(source.parent, source.key, `error in move for path: '${source.key}'`);
  const path = pathOf(op, 'path');
  if (path === undefined) fail(`move operation failed to decode path: ${decodeFailure(op, 'path')}`);
  // Moving a value into itself leaves no destination: upstream's "missing destination path".
  const at = findParent(state.doc, path);
  if (!at) fail(`move operation does not apply: doc is missing destination path: ${path}: ${MISSING}`);
  insert(at.parent, at.key, value ?? null, `error in move for path: '${path}'`);
}

function copy(state: State, op: JsonObject): void {
  const from = pathOf(op, 'from');
  if (from === undefined) fail(`copy operation failed to decode from: ${decodeFailure(op, 'from')}`);
  const source = findParent(state.doc, from);
  if (!source) fail(`copy operation does not apply: doc is missing from path: ${from}: ${MISSING}`);
  const value = getChild(source.parent, source.key, `error in copy for from: '${from}'`) ?? null;
  const path = pathOf(op, 'path');
  if (path === undefined) fail(`copy operation failed to decode path: ${MISSING}`);
  const at = findParent(state.doc, path);
  if (!at) fail(`copy operation does not apply: doc is missing destination path: ${path}: ${MISSING}`);
  // Copies are how a small patch grows an object without bound: upstream caps what they add.
  state.copied += Buffer.byteLength(JSON.stringify(value));
  if (state.copied > MAX_COPY_BYTES) {
    fail(
      `Unable to complete the copy, the accumulated size increase of copy is ${state.copied}, exceeding the limit ${MAX_COPY_BYTES}`,
    );
  }
  insert(at.parent, at.key, clone(value), 'error while adding value during copy');
}

function test(state: State, op: JsonObject): void {
  const path = pathOf(op, 'path');
  if (path === undefined) fail(`test operation failed to decode path: ${decodeFailure(op, 'path')}`);
  const failed = () => fail(`testing value ${path} failed: test failed`);
  const expected = Object.hasOwn(op, 'value') ? op.value : undefined;
  if (path === '') {
    if (!deepEqual(state.doc, expected ?? null)) failed();
    return;
  }
  const at = findParent(state.doc, path);
  if (!at) fail(`test operation does not apply: is missing path: ${path}: ${MISSING}`);
  const actual = getChild(at.parent, at.key, `error in test for path: '${path}'`);
  // A missing key and a null are the same to upstream, and equal to an absent or null value.
  if (actual === undefined || actual === null) {
    if (expected !== undefined && expected !== null) failed();
    return;
  }
  if (expected === undefined || !deepEqual(actual, expected)) failed();
}

// ------------------------------------------------------------------ paths and containers

function fail(message: string): never {
  throw new JsonPatchError(message);
}

/** The op's `path` or `from`, or undefined when it is absent, null or not a string. */
function pathOf(op: JsonObject, field: 'path' | 'from'): string | undefined {
  const v = op[field];
  return Object.hasOwn(op, field) && typeof v === 'string' ? v : undefined;
}

/** Why pathOf gave nothing, in Go's words. */
function decodeFailure(op: JsonObject, field: 'path' | 'from'): string {
  const v = Object.hasOwn(op, field) ? op[field] : null;
  if (v === null || v === undefined)
    return field === 'path' ? `operation missing path field: ${MISSING}` : `operation, missing from field: ${MISSING}`;
  return `json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go value of type string`;
}

/** The op's value, copied (a retried update applies the same patch again); absent is null. */
function opValue(op: JsonObject): Json {
  return Object.hasOwn(op, 'value') ? clone(op.value ?? null) : null;
}

/** RFC 6901 unescaping, in upstream's order. */
function decodeKey(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** The container a path's last token lives in, and that token; undefined when the way is missing. */
function findParent(doc: Json, path: string): { parent: Container; key: string } | undefined {
  const tokens = path.split('/');
  if (tokens.length < 2) return undefined;
  let node: Json = doc;
  for (let i = 1; i < tokens.length - 1; i++) {
    if (typeof node !== 'object' || node === null) return undefined;
    const next: Json | undefined = Array.isArray(node)
      ? node[arrayIndex(decodeKey(tokens[i]!), node.length) ?? -1]
      : ownValue(node, decodeKey(tokens[i]!));
    if (next === undefined || next === null) return undefined;
    node = next;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  return { parent: node, key: decodeKey(tokens.at(-1)!) };
}

/** Go's strconv.Atoi, then upstream's negative indices: an index in [0, size), or undefined. */
function arrayIndex(key: string, size: number): number | undefined {
  if (!INTEGER.test(key)) return undefined;
  let i = Number(key);
  if (i < 0) i += size;
  return i >= 0 && i < size ? i : undefined;
}

function atoi(key: string, what: string): number {
  if (!INTEGER.test(key)) fail(`${what}: strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`);
  return Number(key);
}

function getChild(parent: Container, key: string, what: string): Json | undefined {
  if (!Array.isArray(parent)) return ownValue(parent, key);
  const i = atoi(key, what);
  const at = arrayIndex(key, parent.length);
  if (at === undefined) fail(`${what}: Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
  return parent[at];
}

function insert(parent: Container, key: string, value: Json, what: string): void {
  if (!Array.isArray(parent)) {
    setOwn(parent, key, value);
    return;
  }
  if (key === '-') {
    parent.push(value);
    return;
  }
  if (!INTEGER.test(key))
    fail(
      `${what}: value was not a proper array index: '${key}': strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`,
    );
  const i = Number(key);
  const at = i < 0 ? i + parent.length + 1 : i;
  if (at < 0 || at > parent.length) fail(`${what}: Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
  parent.splice(at, 0, value);
}

function setChild(parent: Container, key: string, value: Json): void {
  if (Array.isArray(parent)) parent[arrayIndex(key, parent.length)!] = value;
  else setOwn(parent, key, value);
}

function removeChild(parent: Container, key: string, what: string): void {
  if (!Array.isArray(parent)) {
    if (!Object.hasOwn(parent, key)) fail(`${what}: Unable to remove nonexistent key: ${key}: ${MISSING}`);
    delete parent[key];
    return;
  }
  const i = atoi(key, what);
  const at = arrayIndex(key, parent.length);
  if (at === undefined) fail(`${what}: Unable to access invalid index: ${i}: ${INVALID_INDEX}`);
  parent.splice(at, 1);
}

/** Structural equality of JSON values (upstream's lazyNode.equal); recursion is bounded by core's body depth limit. */
function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}
