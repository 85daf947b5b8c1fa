/**
 * metadata.managedFields: decoding and encoding upstream's ManagedFieldsEntry list, and who a
 * request writes as (the `fieldManager` query parameter, else the User-Agent's product name).
 */
import { FieldSet, isObject, type JsonObject } from './field-set.js';

export type Operation = 'Apply' | 'Update';

export interface ManagedEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  subresource: string;
  set: FieldSet;
}

/** Upstream's ManagedFieldsEntry as JSON, fields in struct order. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

/**
 * The identity of a manager (upstream's BuildManagerIdentifier): name, operation and subresource,
 * plus the API version for updaters (an applier keeps its identity across versions).
 */
export function managerKey(e: Pick<ManagedEntry, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([e.manager, e.operation, e.operation === 'Update' ? e.apiVersion : '', e.subresource]);
}

/** Upstream's printManager: `"kubectl"`, or `"kubectl-client-side-apply" using v1` for updaters. */
export function printManager(e: ManagedEntry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion}`;
  return s;
}

/** Decode a managedFields list; throws on anything upstream's DecodeManagedFields refuses. */
export function decodeManagedFields(list: unknown, lazy = false): Map<string, ManagedEntry> {
  const out = new Map<string, ManagedEntry>();
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw new Error('managedFields must be a list');
  for (const raw of list) {
    if (typeof raw !== 'object' || raw === null) throw new Error('a managedFields entry must be an object');
    const e = raw as Partial<ManagedFieldsEntry>;
    if (e.operation !== 'Apply' && e.operation !== 'Update')
      throw new Error(`unknown operation ${String(e.operation)}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`unknown fieldsType ${String(e.fieldsType)}`);
    const manager = typeof e.manager === 'string' ? e.manager : '';
    const apiVersion = typeof e.apiVersion === 'string' ? e.apiVersion : '';
    const subresource = typeof e.subresource === 'string' ? e.subresource : '';
    const time = typeof e.time === 'string' ? e.time : undefined;
    let entry: ManagedEntry;
    if (lazy && isObject(e.fieldsV1)) {
      entry = new LazyEntry(manager, e.operation, apiVersion, subresource, time, e.fieldsV1);
    } else {
      entry = {
        manager,
        operation: e.operation,
        apiVersion,
        subresource,
        set: FieldSet.fromFieldsV1(e.fieldsV1 ?? {}),
      };
      if (time !== undefined) entry.time = time;
    }
    const key = managerKey(entry);
    if (out.has(key)) throw new Error(`duplicate manager ${entry.manager}`);
    out.set(key, entry);
  }
  return out;
}

/**
 * A live entry whose FieldsV1 is decoded only when its set is read. A write takes fields from the
 * managers that own them, and most managers own nothing where a write changes things: a status
 * write leaves the spec's owners alone, whose sets are the largest. Those are passed through as
 * they were stored.
 */
class LazyEntry implements ManagedEntry {
  private decoded: FieldSet | undefined;
  constructor(
    readonly manager: string,
    readonly operation: Operation,
    readonly apiVersion: string,
    readonly subresource: string,
    readonly time: string | undefined,
    private stored: JsonObject | undefined,
  ) {}

  get set(): FieldSet {
    this.decoded ??= readable(this.stored);
    return this.decoded;
  }

  set set(value: FieldSet) {
    this.decoded = value;
    this.stored = undefined;
  }

  /** Whether the set can hold a path starting with one of `tops` (answered from FieldsV1 when undecoded). */
  mayHoldUnder(tops: ReadonlySet<string>): boolean {
    if (this.decoded || !this.stored) return true;
    for (const key of Object.keys(this.stored)) if (tops.has(key)) return true;
    return false;
  }

  /** FieldsV1 as stored while the set was never changed, else encoded from it. */
  fieldsV1(): JsonObject {
    return this.stored && !this.decoded ? this.stored : this.set.toFieldsV1();
  }

  isEmpty(): boolean {
    return this.stored && !this.decoded ? Object.keys(this.stored).length === 0 : this.set.isEmpty();
  }
}

/** A live entry's FieldsV1, read late: one it cannot read counts as empty, as an unreadable live list does. */
function readable(fieldsV1: JsonObject | undefined): FieldSet {
  try {
    return FieldSet.fromFieldsV1(fieldsV1 ?? {});
  } catch {
    return new FieldSet();
  }
}

/** Whether `entry` can own fields below the top-level elements `tops` (false only when that is sure). */
export function mayHoldUnder(entry: ManagedEntry, tops: ReadonlySet<string>): boolean {
  return entry instanceof LazyEntry ? entry.mayHoldUnder(tops) : true;
}

/**
 * A live object's managedFields, as decodeManagedFields reads them but with sets decoded when
 * used (LazyEntry); a list it cannot read counts as none (as upstream treats live objects).
 */
export function decodeOrEmpty(list: unknown): Map<string, ManagedEntry> {
  try {
    return decodeManagedFields(list, true);
  } catch {
    return new Map();
  }
}

// Module-level rather than made per call: under tsx every closure made also gets its name set.
const seconds = (t?: string) => (t ? Math.floor(Date.parse(t) / 1000) : 0);
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const entryOrder = (p: ManagedEntry, q: ManagedEntry) =>
  cmp(p.operation, q.operation) ||
  seconds(p.time) - seconds(q.time) ||
  cmp(p.manager, q.manager) ||
  cmp(p.apiVersion, q.apiVersion) ||
  cmp(p.subresource, q.subresource);

/** Encode, dropping empty sets, sorted as upstream: operation, time, manager, apiVersion, subresource. */
export function encodeManagedFields(entries: Map<string, ManagedEntry>): ManagedFieldsEntry[] {
  const list = [...entries.values()].filter((e) => !(e instanceof LazyEntry ? e.isEmpty() : e.set.isEmpty()));
  list.sort(entryOrder);
  return list.map((e) => ({
    ...(e.manager ? { manager: e.manager } : {}),
    operation: e.operation,
    apiVersion: e.apiVersion,
    ...(e.time ? { time: e.time } : {}),
    fieldsType: 'FieldsV1' as const,
    fieldsV1: e instanceof LazyEntry ? e.fieldsV1() : e.set.toFieldsV1(),
    ...(e.subresource ? { subresource: e.subresource } : {}),
  }));
}

/** Agents seen lately and their managers: a client sends the same User-Agent on every write. */
const managers = new Map<string, string>();
const MANAGERS_KEPT = 256;

/** Upstream's prefixFromUserAgent: the product before the first '/', printable, at most 128 characters. */
export function managerFromUserAgent(userAgent: string | undefined): string {
  const agent = userAgent ?? '';
  let manager = managers.get(agent);
  if (manager === undefined) {
    manager = productOf(agent);
    if (managers.size >= MANAGERS_KEPT) managers.clear();
    managers.set(agent, manager);
  }
  return manager;
}

function productOf(userAgent: string): string {
  const product = userAgent.split('/')[0]!;
  let out = '';
  for (const ch of product) {
    if (!/\P{C}/u.test(ch)) continue;
    if (out.length >= 128) break;
    out += ch;
  }
  return out;
}

/** The manager a non-apply write records: `fieldManager`, else derived from the User-Agent. */
export function managerOf(query: URLSearchParams, userAgent: string | undefined): string {
  return query.get('fieldManager') || managerFromUserAgent(userAgent);
}
