/**
 * metadata.managedFields: decoding and encoding upstream's ManagedFieldsEntry list, and who a
 * request writes as (the `fieldManager` query parameter, else the User-Agent's product name).
 */
import { FieldSet, type JsonObject } from './field-set.js';

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
export function decodeManagedFields(list: unknown): Map<string, ManagedEntry> {
  const out = new Map<string, ManagedEntry>();
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw new Error('managedFields must be a list');
  for (const raw of list) {
    if (typeof raw !== 'object' || raw === null) throw new Error('a managedFields entry must be an object');
    const e = raw as Partial<ManagedFieldsEntry>;
    if (e.operation !== 'Apply' && e.operation !== 'Update')
      throw new Error(`unknown operation ${String(e.operation)}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`unknown fieldsType ${String(e.fieldsType)}`);
    const entry: ManagedEntry = {
      manager: typeof e.manager === 'string' ? e.manager : '',
      operation: e.operation,
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
      subresource: typeof e.subresource === 'string' ? e.subresource : '',
      set: FieldSet.fromFieldsV1(e.fieldsV1 ?? {}),
    };
    if (typeof e.time === 'string') entry.time = e.time;
    const key = managerKey(entry);
    if (out.has(key)) throw new Error(`duplicate manager ${entry.manager}`);
    out.set(key, entry);
  }
  return out;
}

/** Like decodeManagedFields, but a list it cannot read counts as none (as upstream treats live objects). */
export function decodeOrEmpty(list: unknown): Map<string, ManagedEntry> {
  try {
    return decodeManagedFields(list);
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
  const list = [...entries.values()].filter((e) => !e.set.isEmpty());
  list.sort(entryOrder);
  return list.map((e) => ({
    ...(e.manager ? { manager: e.manager } : {}),
    operation: e.operation,
    apiVersion: e.apiVersion,
    ...(e.time ? { time: e.time } : {}),
    fieldsType: 'FieldsV1' as const,
    fieldsV1: e.set.toFieldsV1(),
    ...(e.subresource ? { subresource: e.subresource } : {}),
  }));
}

/** Upstream's prefixFromUserAgent: the product before the first '/', printable, at most 128 characters. */
export function managerFromUserAgent(userAgent: string | undefined): string {
  const product = (userAgent ?? '').split('/')[0]!;
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
