/** Object metadata chores shared by every kind: timestamps, generated names, storage encoding. */
import { randomInt } from 'node:crypto';
import type { KeyValue } from '../storage/types.js';
import { MAX_NESTING_DEPTH, objectTooDeep } from './depth.js';
import type { KubeObject, MergeRule } from './types.js';

/** The second `nowTimestamp` last formatted, and its text: every write stamps, most in the same second. */
let stampedSecond = Number.NaN;
let stampText = '';

/** RFC 3339 with second precision, as metav1.Time marshals. */
export function nowTimestamp(date?: Date): string {
  if (date) return `${date.toISOString().slice(0, 19)}Z`;
  const second = Math.floor(Date.now() / 1000);
  if (second !== stampedSecond) {
    stampedSecond = second;
    stampText = `${new Date(second * 1000).toISOString().slice(0, 19)}Z`;
  }
  return stampText;
}

// Upstream's generateName alphabet leaves out vowels and look-alikes so names never spell words.
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const SUFFIX_LENGTH = 5;
const SUFFIXES = NAME_ALPHABET.length ** SUFFIX_LENGTH;

/** Five letters of the alphabet, as upstream's utilrand.String(5), from one call to the CSPRNG. */
export function generateNameSuffix(): string {
  let n = randomInt(SUFFIXES);
  let s = '';
  for (let i = 0; i < SUFFIX_LENGTH; i++) {
    s += NAME_ALPHABET[n % NAME_ALPHABET.length];
    n = Math.floor(n / NAME_ALPHABET.length);
  }
  return s;
}

/** Stored values never carry resourceVersion: it is the key's mod revision, set on read. */
export function encodeForStorage(obj: KubeObject): string {
  return JSON.stringify(storedForm(obj));
}

/** `obj` as storage keeps it: without resourceVersion (shares everything else with `obj`). */
export function storedForm(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export function decodeStored(kv: Pick<KeyValue, 'value' | 'modRevision'>): KubeObject {
  const obj = JSON.parse(kv.value) as KubeObject;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

/** The fields whose change bumps metadata.generation: everything but metadata and status. */
export function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

/**
 * A deep copy of a JSON value (an object as the API reads and stores it), exactly what
 * JSON.parse(JSON.stringify(value)) gives: undefined and functions are dropped from objects and
 * become null in arrays, as are numbers JSON cannot write. Written out rather than structuredClone,
 * which costs eight times as much for a pod: every update, patch and in-process client call
 * copies, and the watch cache takes its copy of each object this process writes (recent-writes.ts).
 * Anything that is not plain data (a Date a controller put in) is copied as JSON would carry it,
 * since that is how it would reach the server over HTTP. A value nested past COPY_DEPTH (or a cycle,
 * which an in-process caller could hand in) is a 400, not a stack overflow.
 */
export function clone<T>(value: T): T {
  return copyJson(value, COPY_DEPTH) as T;
}

/** Twice what the API accepts (depth.ts), so no object the API stored ever meets it. */
const COPY_DEPTH = 2 * MAX_NESTING_DEPTH;

function copyJson(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) return typeof v === 'number' ? jsonNumber(v) : v;
  if (depth === 0) throw objectTooDeep();
  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      out[i] =
        item === undefined || typeof item === 'function' || typeof item === 'symbol' ? null : copyJson(item, depth - 1);
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return JSON.parse(JSON.stringify(v));
  const out: Record<string, unknown> = {};
  for (const k in v) {
    const value = (v as Record<string, unknown>)[k];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    setOwn(out, k, copyJson(value, depth - 1));
  }
  return out;
}

/**
 * Set `obj[key]` as an own data property. A "__proto__" key (JSON.parse makes it an own property)
 * must stay data: plain assignment would set the object's prototype instead.
 */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** `obj[key]` if it is the object's own property: never an inherited one ("toString", "__proto__"). */
export function ownValue<T>(obj: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A number as JSON carries it: NaN and the infinities become null, -0 becomes 0. */
function jsonNumber(n: number): number | null {
  if (!Number.isFinite(n)) return null;
  return n === 0 ? 0 : n;
}

/** A resourceVersion as a revision number, or undefined when absent. Bad input is the caller's 400. */
export function parseResourceVersion(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === '') return undefined;
  if (!/^\d+$/.test(rv)) return Number.NaN;
  return Number(rv);
}

/**
 * The fields that name an item of a merge list for server-side apply, sorted by name as
 * structured-merge-diff sorts them, each with the item's value or the key's default; undefined
 * when the item lacks a key field that has no default.
 */
export function itemKeyFields(rule: MergeRule, item: Record<string, unknown>): [string, unknown][] | undefined {
  const names = rule.listMapKeys ? [...rule.listMapKeys].sort() : [rule.mergeKey];
  const out: [string, unknown][] = [];
  for (const name of names) {
    const value = item[name] ?? rule.keyDefaults?.[name];
    if (value === undefined || value === null) return undefined;
    out.push([name, value]);
  }
  return out;
}
