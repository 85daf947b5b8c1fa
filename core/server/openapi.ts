/**
 * OpenAPI: /openapi/v3 lists one document per group version, with the built-in kinds' schemas
 * (core/wire/openapi-schemas.ts; `kubectl explain` reads them) and PATCH operations that carry the
 * `fieldValidation` parameter, so kubectl validates on the server (fieldValidation=Strict) rather
 * than client-side. /openapi/v2 is the Swagger 2.0 document for all of them (core/wire/openapi-v2.ts),
 * as JSON or as gnostic's protobuf, which kubectl 1.20 reads for explain, validation and apply.
 */
import { createHash } from 'node:crypto';
import { type ResourceRegistry, verbsOf } from '../api/registry.js';
import type { ResourceDefinition } from '../api/types.js';
import { componentSchemas } from '../wire/openapi-schemas.js';
import { swaggerDocument } from '../wire/openapi-v2.js';
import { encodeSwaggerProtobuf } from '../wire/openapi-v2-protobuf.js';
import { messageForKind } from '../wire/schema.js';
import { KUBERNETES_VERSION } from './discovery.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

// The root hashes every document; kubectl asks for it on each command, so it is built once too.
const roots = new WeakMap<ResourceRegistry, object>();

export function openApiV3Root(registry: ResourceRegistry) {
  let root = roots.get(registry);
  if (!root) {
    root = buildRoot(registry);
    roots.set(registry, root);
  }
  return root;
}

function buildRoot(registry: ResourceRegistry) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of registry.groupVersions()) {
    const doc = JSON.stringify(openApiV3Document(registry, gv.group, gv.version));
    const hash = createHash('sha512').update(doc).digest('hex').slice(0, 32).toUpperCase();
    const path = gvPath(gv.group, gv.version);
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}

function itemPath(def: ResourceDefinition): string {
  const base = def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`;
  return def.namespaced ? `${base}/namespaces/{namespace}/${def.plural}/{name}` : `${base}/${def.plural}/{name}`;
}

const QUERY = (name: string, description: string) => ({
  name,
  in: 'query',
  description,
  schema: { type: 'string', uniqueItems: true },
});

const PATCH_SCHEMA = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';
const PATCH_MEDIA_TYPES = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];
// kubectl apply computes its strategic merge patch from the v3 schema only when the PATCH operation
// says it takes one; otherwise it falls back to /openapi/v2.
const PATCH_BODY = {
  content: Object.fromEntries(
    PATCH_MEDIA_TYPES.map((t) => [t, { schema: { $ref: `#/components/schemas/${PATCH_SCHEMA}` } }]),
  ),
  required: true,
};

// The registry does not change once the server runs: build each document once.
const documents = new WeakMap<ResourceRegistry, Map<string, object>>();

export function openApiV3Document(registry: ResourceRegistry, group: string, version: string) {
  let byGv = documents.get(registry);
  if (!byGv) {
    byGv = new Map();
    documents.set(registry, byGv);
  }
  let doc = byGv.get(`${group}/${version}`);
  if (!doc) {
    doc = buildDocument(registry, group, version);
    byGv.set(`${group}/${version}`, doc);
  }
  return doc;
}

function buildDocument(registry: ResourceRegistry, group: string, version: string) {
  const paths: Record<string, unknown> = {};
  for (const def of registry.inGroupVersion(group, version)) {
    if (!verbsOf(def).includes('patch')) continue;
    const gvk = { group: def.group, version: def.version, kind: def.kind };
    paths[itemPath(def)] = {
      patch: {
        operationId: `patch${def.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
        parameters: [
          QUERY('dryRun', 'When present, indicates that modifications should not be persisted.'),
          QUERY(
            'fieldManager',
            'fieldManager is a name associated with the actor or entity that is making these changes.',
          ),
          QUERY(
            'fieldValidation',
            'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.',
          ),
        ],
        requestBody: PATCH_BODY,
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  const kinds = registry
    .inGroupVersion(group, version)
    .map((d) => ({ group: d.group, version: d.version, kind: d.kind }));
  const schemas = componentSchemas(kinds, (k) =>
    messageForKind(k.group ? `${k.group}/${k.version}` : k.version, k.kind),
  );
  if (Object.keys(paths).length)
    schemas[PATCH_SCHEMA] = { type: 'object', description: 'The body of a PATCH request.' };
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}

/** Clients ask for this media type; upstream answers with application/octet-stream (Go's mime parser rejects the '@'). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
export const OPENAPI_V2_PROTOBUF_RESPONSE_TYPE = 'application/octet-stream';

export interface EncodedDocument {
  body: Buffer;
  /** Quoted, as upstream's: the uppercase hex SHA-512 of the body. */
  etag: string;
}

export interface OpenApiV2 {
  json: EncodedDocument;
  protobuf: EncodedDocument;
  /** For Last-Modified: when the document was built. */
  built: Date;
  /** Milliseconds spent building and encoding it. */
  buildMs: number;
}

const encoded = (body: Buffer): EncodedDocument => ({
  body,
  etag: `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"`,
});

// kubectl fetches /openapi/v2 on every command: build and encode it once per registry.
const v2Documents = new WeakMap<ResourceRegistry, OpenApiV2>();

export function openApiV2(registry: ResourceRegistry): OpenApiV2 {
  let v2 = v2Documents.get(registry);
  if (!v2) {
    const start = performance.now();
    const doc = swaggerDocument(registry.all(), verbsOf, KUBERNETES_VERSION.gitVersion);
    const json = encoded(Buffer.from(JSON.stringify(doc)));
    const protobuf = encoded(encodeSwaggerProtobuf(doc));
    v2 = { json, protobuf, built: new Date(), buildMs: performance.now() - start };
    v2Documents.set(registry, v2);
  }
  return v2;
}

/** The representation an Accept header asks for: gnostic's protobuf only when named. */
export function wantsOpenApiV2Protobuf(accept: string): boolean {
  return accept.includes('com.github.proto-openapi.spec.v2');
}

/**
 * Whether a conditional GET can be answered 304, as Go's http.ServeContent (upstream) decides:
 * If-None-Match (weak comparison, `*`) wins; otherwise If-Modified-Since, to the second. Unlike
 * koa's `ctx.fresh`, a request's `Cache-Control: no-cache` (fetch adds it) does not matter.
 */
export function notModified(ifNoneMatch: string, ifModifiedSince: string, doc: EncodedDocument, built: Date): boolean {
  if (ifNoneMatch) {
    return ifNoneMatch.split(',').some((tag) => {
      const t = tag.trim().replace(/^W\//, '');
      return t === '*' || t === doc.etag;
    });
  }
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && Math.floor(built.getTime() / 1000) <= Math.floor(since / 1000);
}
