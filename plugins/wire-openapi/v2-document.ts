/**
 * The Swagger 2.0 document served at /openapi/v2. kubectl 1.20 reads it (as protobuf) for
 * `explain`, client-side validation of `create -f`/`apply -f`, and apply's strategic merge patch,
 * so its `definitions` come from the same generated table as the v3 documents
 * (schemas.ts), converted to v2's shape; the paths are in v2-paths.ts.
 */
import type { ResourceDefinition, Verb } from 'skiff/sdk/api';
import { messageForKind } from 'skiff/sdk/wire';
import { componentSchemas, type KindRef } from './schemas.js';
import { SHARED_PARAMETERS, swaggerPaths } from './v2-paths.js';

type Schema = Record<string, unknown>;

const V3_REF = '#/components/schemas/';
const V2_REF = '#/definitions/';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const v2Ref = (ref: unknown) => String(ref).replace(V3_REF, V2_REF);

/** v3.0 lets a $ref carry siblings only inside `allOf: [{$ref}]`; v2 (and upstream's v2) uses a plain $ref. */
function singleRef(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length !== 1 || !isObject(value[0])) return undefined;
  const only = value[0];
  return Object.keys(only).length === 1 && typeof only.$ref === 'string' ? only.$ref : undefined;
}

/** One v3 schema in v2's shape; every other key (description, x-kubernetes-*) is kept as it is. */
export function toV2Schema(s: Schema): Schema {
  const out: Schema = {};
  const wrapped = singleRef(s.allOf);
  if (wrapped) out.$ref = v2Ref(wrapped);
  for (const [key, value] of Object.entries(s)) {
    if (key === 'allOf' && wrapped) continue;
    if (key === '$ref') out.$ref = v2Ref(value);
    else if (key === 'properties' && isObject(value)) out.properties = mapValues(value, toV2Schema);
    else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) out[key] = toV2Schema(value);
    else if (key === 'allOf' && Array.isArray(value)) out.allOf = value.map((v) => (isObject(v) ? toV2Schema(v) : v));
    else out[key] = value;
  }
  return out;
}

function mapValues(obj: Schema, f: (s: Schema) => Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(obj)) out[k] = isObject(v) ? f(v) : v;
  return out;
}

const sorted = <T>(obj: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The kinds served, the kinds of their subresources (Scale, Binding, …) and what every operation uses. */
function kindsOf(defs: readonly ResourceDefinition[]): KindRef[] {
  const kinds: KindRef[] = [];
  for (const d of defs) {
    kinds.push({ group: d.group, version: d.version, kind: d.kind });
    for (const sub of Object.values(d.subresources ?? {})) if (sub.kind) kinds.push(sub.kind);
  }
  for (const kind of ['Status', 'DeleteOptions', 'WatchEvent']) kinds.push({ group: '', version: 'v1', kind });
  return kinds;
}

function swaggerDefinitions(defs: readonly ResourceDefinition[]): Record<string, Schema> {
  const v3 = componentSchemas(kindsOf(defs), (k) =>
    messageForKind(k.group ? `${k.group}/${k.version}` : k.version, k.kind),
  );
  const out = mapValues(v3, toV2Schema);
  // DeleteOptions and WatchEvent travel in every group version; upstream lists each one.
  const gvs = new Map(defs.map((d) => [`${d.group}/${d.version}`, { group: d.group, version: d.version }]));
  for (const kind of ['DeleteOptions', 'WatchEvent']) {
    const schema = out[`${META}.${kind}`] as Schema | undefined;
    if (schema) schema['x-kubernetes-group-version-kind'] = [...gvs.values()].map((gv) => ({ ...gv, kind }));
  }
  // A patch body has no schema of its own: its shape depends on the patch type.
  out[`${META}.Patch`] ??= { type: 'object' };
  return sorted(out) as Record<string, Schema>;
}

/** A path may name a kind the table does not describe (a plugin's own kind): any object, rather than a dangling $ref. */
function resolveRefs(value: unknown, known: Record<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, known));
  if (!isObject(value)) return value;
  const ref = value.$ref;
  if (typeof ref === 'string' && ref.startsWith(V2_REF) && !(ref.slice(V2_REF.length) in known)) {
    return { type: 'object' };
  }
  const out: Schema = {};
  for (const [k, v] of Object.entries(value)) out[k] = resolveRefs(v, known);
  return out;
}

/** The whole document for the resources a server serves. */
export function swaggerDocument(
  defs: readonly ResourceDefinition[],
  verbsOf: (d: ResourceDefinition) => readonly Verb[],
  version: string,
) {
  const definitions = swaggerDefinitions(defs);
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version },
    paths: sorted(resolveRefs(swaggerPaths(defs, verbsOf), definitions) as Record<string, Schema>),
    definitions,
    parameters: SHARED_PARAMETERS,
    securityDefinitions: {
      BearerToken: { type: 'apiKey', name: 'authorization', in: 'header', description: 'A bearer token.' },
    },
    security: [{ BearerToken: [] }],
  };
}
