/**
 * The built-in API types, as one table generated from upstream's published definitions
 * (scripts/gen/api-schema.ts → api-schema.json). Core's field validation reads it (unknown-fields.ts),
 * and so do the format plugins through skiff/sdk/wire (wire-protobuf's codec, wire-openapi's schemas).
 */
import { readFileSync } from 'node:fs';

/** A field: protobuf number, JSON name, type, label and flags (see scripts/gen/api-schema.ts). */
export interface FieldSchema {
  number: number;
  name: string;
  /** A scalar ('string', 'int64', …) or a message's full name; for maps, the value type. */
  type: string;
  repeated: boolean;
  map: boolean;
  /** Go's `omitempty` on a value (not pointer) field: a zero value means "unset". */
  omitZero: boolean;
  /** Go's `omitempty` on any field: a nil or empty value is left out of the JSON. */
  omitEmpty: boolean;
  /** A Go pointer: absent (or null) unless set; a struct that is not one is always in the JSON. */
  pointer: boolean;
  /** `json:",inline"`: the message's fields sit in the parent's JSON object. */
  inline: boolean;
  optional: boolean;
  markers: Record<string, string>;
}

export interface MessageSchema {
  name: string;
  fields: FieldSchema[];
  byNumber: Map<number, FieldSchema>;
  /** +protobuf.nullable wrappers (Verbs, ExtraValue): a bare JSON list of `items`. */
  wrapper: boolean;
}

type RawField = [number, string, string, 0 | 1 | 2, string, Record<string, string>?];
type RawSchema = Record<string, { fields: RawField[]; wrapper?: true }>;

export const SCALARS = new Set(['string', 'int32', 'int64', 'bool', 'bytes', 'double', 'float', 'uint32', 'uint64']);

/** Messages whose JSON form is free or a scalar (a timestamp, a quantity): no fields below them. */
export const OPAQUE_TYPES: ReadonlySet<string> = new Set([
  'k8s.io.apimachinery.pkg.apis.meta.v1.Time',
  'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime',
  'k8s.io.apimachinery.pkg.apis.meta.v1.Duration',
  'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'k8s.io.apimachinery.pkg.api.resource.Quantity',
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  'k8s.io.apimachinery.pkg.runtime.RawExtension',
]);

const raw = JSON.parse(readFileSync(new URL('./api-schema.json', import.meta.url), 'utf8')) as RawSchema;
const messages = new Map<string, MessageSchema>();

export function message(name: string): MessageSchema | undefined {
  let m = messages.get(name);
  if (m) return m;
  const r = raw[name];
  if (!r) return undefined;
  const fields = r.fields.map(([number, fieldName, type, label, flags, markers]): FieldSchema => {
    return {
      number,
      name: fieldName,
      type: label === 2 ? type.slice(type.indexOf(',') + 1) : type,
      repeated: label === 1,
      map: label === 2,
      omitZero: flags.includes('e') && !flags.includes('p'),
      omitEmpty: flags.includes('e'),
      pointer: flags.includes('p'),
      inline: flags.includes('i'),
      optional: flags.includes('o') || flags.includes('e') || flags.includes('p'),
      markers: markers ?? {},
    };
  });
  m = { name, fields, byNumber: new Map(fields.map((f) => [f.number, f])), wrapper: r.wrapper === true };
  messages.set(name, m);
  return m;
}

export function allMessageNames(): string[] {
  return Object.keys(raw);
}

export const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';

/** Upstream's Go package for an API group: '' → core, 'coordination.k8s.io' → coordination, … */
export function packageOf(group: string, version: string): string {
  if (group === 'meta.k8s.io') return META;
  const short =
    group === ''
      ? 'core'
      : group === 'rbac.authorization.k8s.io'
        ? 'rbac'
        : group === 'internal.apiserver.k8s.io'
          ? 'apiserverinternal'
          : group.replace(/\.k8s\.io$/, '').split('.')[0]!;
  return `k8s.io.api.${short}.${version}`;
}

/** The message for apiVersion + kind; Status, DeleteOptions and the like live in meta/v1 for every group. */
export function messageForKind(apiVersion: string, kind: string): MessageSchema | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return message(`${packageOf(group, version)}.${kind}`) ?? message(`${META}.${kind}`);
}
