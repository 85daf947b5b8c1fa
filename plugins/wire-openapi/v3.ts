/**
 * /openapi/v3: a root listing one document per group version, and each document with the served
 * kinds' schemas (schemas.ts; `kubectl explain` reads them) and PATCH operations that carry the
 * `fieldValidation` parameter, so kubectl validates on the server (fieldValidation=Strict) rather
 * than client-side.
 */
import { createHash } from 'node:crypto';
import type { ResourceCatalog } from 'skiff/sdk';
import type { ResourceDefinition } from 'skiff/sdk/api';
import { messageForKind } from 'skiff/sdk/wire';
import { groupVersions, inGroupVersion, verbsOf } from './catalog.js';
import { componentSchemas } from './schemas.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

// The root hashes every document; kubectl asks for it on each command, so it is built once too.
const roots = new WeakMap<ResourceCatalog, object>();

export function openApiV3Root(catalog: ResourceCatalog) {
  let root = roots.get(catalog);
  if (!root) {
    root = buildRoot(catalog);
    roots.set(catalog, root);
  }
  return root;
}

function buildRoot(catalog: ResourceCatalog) {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions(catalog)) {
    const doc = JSON.stringify(openApiV3Document(catalog, gv.group, gv.version));
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

// The catalog does not change once the server runs: build each document once.
const documents = new WeakMap<ResourceCatalog, Map<string, object>>();

export function openApiV3Document(catalog: ResourceCatalog, group: string, version: string) {
  let byGv = documents.get(catalog);
  if (!byGv) {
    byGv = new Map();
    documents.set(catalog, byGv);
  }
  let doc = byGv.get(`${group}/${version}`);
  if (!doc) {
    doc = buildDocument(catalog, group, version);
    byGv.set(`${group}/${version}`, doc);
  }
  return doc;
}

function buildDocument(catalog: ResourceCatalog, group: string, version: string) {
  const paths: Record<string, unknown> = {};
  for (const def of inGroupVersion(catalog, group, version)) {
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
  const kinds = inGroupVersion(catalog, group, version).map((d) => ({
    group: d.group,
    version: d.version,
    kind: d.kind,
  }));
  const schemas = componentSchemas(kinds, (k) =>
    messageForKind(k.group ? `${k.group}/${k.version}` : k.version, k.kind),
  );
  if (Object.keys(paths).length)
    schemas[PATCH_SCHEMA] = { type: 'object', description: 'The body of a PATCH request.' };
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}
