/**
 * The `paths` of the Swagger 2.0 document: for each resource the operations upstream lists (read,
 * list, create, replace, patch, delete, deletecollection, watch, and the status and other
 * subresources), named the way upstream names them (`readCoreV1NamespacedPod`) and marked with
 * `x-kubernetes-action` and `x-kubernetes-group-version-kind`, which clients use to map an
 * operation to a kind. Shared query parameters live once under the document's `parameters`.
 */
import type { ResourceDefinition, Verb } from 'skiff/sdk/api';
import { packageOf } from 'skiff/sdk/wire';
import { definitionName } from './schemas.js';

type Obj = Record<string, unknown>;
type Gvk = { group: string; version: string; kind: string };

const query = (name: string, type: string, description: string) => ({
  name,
  in: 'query',
  type,
  uniqueItems: true,
  description,
});

/** The document's `parameters`: referenced as `#/parameters/<name>`. Descriptions are Skiff's own. */
export const SHARED_PARAMETERS: Record<string, Obj> = {
  namespace: {
    name: 'namespace',
    in: 'path',
    required: true,
    type: 'string',
    uniqueItems: true,
    description: 'The namespace of the objects.',
  },
  pretty: query('pretty', 'string', "If 'true', the response is indented."),
  dryRun: query('dryRun', 'string', 'With All, the request is checked and admitted but nothing is stored.'),
  fieldManager: query('fieldManager', 'string', 'Who makes the change, as recorded in managedFields.'),
  fieldValidation: query(
    'fieldValidation',
    'string',
    'What the server does with unknown or duplicate fields in the body: Ignore, Warn or Strict.',
  ),
  force: query('force', 'boolean', 'Let an apply request take over fields another manager owns.'),
  allowWatchBookmarks: query('allowWatchBookmarks', 'boolean', 'Ask for BOOKMARK events on a watch.'),
  continue: query('continue', 'string', 'The token a previous partial list returned, to read the next page.'),
  fieldSelector: query('fieldSelector', 'string', 'Only objects whose fields match this selector.'),
  labelSelector: query('labelSelector', 'string', 'Only objects whose labels match this selector.'),
  limit: query('limit', 'integer', 'At most this many items; the rest follows with continue.'),
  resourceVersion: query('resourceVersion', 'string', 'The version to read from (see resourceVersionMatch).'),
  resourceVersionMatch: query('resourceVersionMatch', 'string', 'How resourceVersion applies: Exact or NotOlderThan.'),
  sendInitialEvents: query('sendInitialEvents', 'boolean', 'Start a watch with ADDED events for what exists.'),
  timeoutSeconds: query('timeoutSeconds', 'integer', 'End the list or watch after this many seconds.'),
  watch: query('watch', 'boolean', 'Stream changes to the collection instead of listing it.'),
  gracePeriodSeconds: query('gracePeriodSeconds', 'integer', 'Seconds to wait before deleting; 0 deletes at once.'),
  orphanDependents: query('orphanDependents', 'boolean', 'Deprecated, use propagationPolicy: orphan dependents.'),
  propagationPolicy: query(
    'propagationPolicy',
    'string',
    'How dependents are deleted: Orphan, Background or Foreground.',
  ),
};

const ref = (...names: string[]) => names.map((n) => ({ $ref: `#/parameters/${n}` }));
const LIST_PARAMS = ref(
  'allowWatchBookmarks',
  'continue',
  'fieldSelector',
  'labelSelector',
  'limit',
  'resourceVersion',
  'resourceVersionMatch',
  'sendInitialEvents',
  'timeoutSeconds',
  'watch',
);
const WRITE_PARAMS = ref('dryRun', 'fieldManager', 'fieldValidation');
const DELETE_PARAMS = ref('dryRun', 'gracePeriodSeconds', 'orphanDependents', 'propagationPolicy');

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const schemaRef = (name: string) => ({ $ref: `#/definitions/${name}` });
const kindRef = (k: Gvk) => schemaRef(definitionName(`${packageOf(k.group, k.version)}.${k.kind}`));
const body = (schema: Obj, required = true) => ({ name: 'body', in: 'body', required, schema });

const PRODUCES = ['application/json', 'application/vnd.kubernetes.protobuf'];
const WATCH_PRODUCES = [
  ...PRODUCES,
  'application/json;stream=watch',
  'application/vnd.kubernetes.protobuf;stream=watch',
];
const PATCH_CONSUMES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

function responses(schema: Obj, ...extra: ('201' | '202')[]): Obj {
  const out: Obj = { '200': { description: 'OK', schema } };
  if (extra.includes('201')) out['201'] = { description: 'Created', schema };
  if (extra.includes('202')) out['202'] = { description: 'Accepted', schema };
  out['401'] = { description: 'Unauthorized' };
  return out;
}

/** `coordination.k8s.io`, `v1` → `CoordinationV1`; the core group is `Core`. */
function groupIdent(group: string, version: string): string {
  const words = group ? group.replace(/\.k8s\.io$/, '').split(/[.-]/) : ['core'];
  return [...words, version].map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** What one resource contributes: its names and the shapes every operation shares. */
interface Target {
  def: ResourceDefinition;
  ident: string;
  tag: string;
  scope: string;
  base: string;
  ns: string;
}

function operation(t: Target, action: string, id: string, gvk: Gvk, description: string, extra: Obj): Obj {
  return {
    description,
    operationId: id,
    consumes: ['*/*'],
    produces: PRODUCES,
    schemes: ['https'],
    tags: [t.tag],
    ...extra,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  };
}

function createOperation(t: Target, id: string, gvk: Gvk, description: string): Obj {
  const self = kindRef(gvk);
  return operation(t, 'post', id, gvk, description, {
    parameters: [body(self), ...WRITE_PARAMS],
    responses: responses(self, '201', '202'),
  });
}

/** get, put, patch and delete of one object; post too for subresources (pods/binding). */
function itemOperations(t: Target, verbs: readonly Verb[], gvk: Gvk, suffix: string, what: string): Obj {
  const id = (verb: string) => `${verb}${t.ident}${t.scope}${t.def.kind}${suffix}`;
  const self = kindRef(gvk);
  const out: Obj = {};
  if (verbs.includes('get')) {
    out.get = operation(t, 'get', id('read'), gvk, `Read ${what}.`, { responses: responses(self) });
  }
  if (verbs.includes('create')) out.post = createOperation(t, id('create'), gvk, `Create ${what}.`);
  if (verbs.includes('update')) {
    const parameters = [body(self), ...WRITE_PARAMS];
    out.put = operation(t, 'put', id('replace'), gvk, `Replace ${what}.`, {
      parameters,
      responses: responses(self, '201'),
    });
  }
  if (verbs.includes('patch')) {
    const parameters = [body(schemaRef(`${META}.Patch`)), ...WRITE_PARAMS, ...ref('force')];
    out.patch = operation(t, 'patch', id('patch'), gvk, `Partially update ${what}.`, {
      consumes: PATCH_CONSUMES,
      parameters,
      responses: responses(self, '201'),
    });
  }
  if (verbs.includes('delete')) {
    const deleted = t.def.returnDeletedObject ? self : schemaRef(`${META}.Status`);
    const parameters = [body(schemaRef(`${META}.DeleteOptions`), false), ...DELETE_PARAMS];
    out.delete = operation(t, 'delete', id('delete'), gvk, `Delete ${what}.`, {
      parameters,
      responses: responses(deleted, '202'),
    });
  }
  return out;
}

function collectionOperations(t: Target, verbs: readonly Verb[], gvk: Gvk): Obj {
  const { kind } = t.def;
  const out: Obj = {};
  if (verbs.includes('list')) {
    out.get = operation(t, 'list', `list${t.ident}${t.scope}${kind}`, gvk, `List or watch ${kind} objects.`, {
      produces: WATCH_PRODUCES,
      parameters: LIST_PARAMS,
      responses: responses(kindRef({ ...gvk, kind: `${kind}List` })),
    });
  }
  if (verbs.includes('create'))
    out.post = createOperation(t, `create${t.ident}${t.scope}${kind}`, gvk, `Create a ${kind}.`);
  if (verbs.includes('deletecollection')) {
    // The list parameters select what to delete; allowWatchBookmarks and watch make no sense here.
    const parameters = [body(schemaRef(`${META}.DeleteOptions`), false), ...DELETE_PARAMS, ...LIST_PARAMS.slice(1, -1)];
    out.delete = operation(
      t,
      'deletecollection',
      `delete${t.ident}Collection${t.scope}${kind}`,
      gvk,
      `Delete a collection of ${kind} objects.`,
      {
        parameters,
        responses: responses(schemaRef(`${META}.Status`)),
      },
    );
  }
  return out;
}

function watchOperation(t: Target, gvk: Gvk, action: 'watch' | 'watchlist', id: string, description: string): Obj {
  return operation(t, action, id, gvk, description, {
    produces: WATCH_PRODUCES,
    responses: responses(schemaRef(`${META}.WatchEvent`)),
  });
}

/** Path-level parameters: the namespace and name in the template, and pretty. */
function pathParameters(t: Target, named: boolean): Obj[] {
  const out: Obj[] = [];
  if (named) {
    const description = `The name of the ${t.def.kind}.`;
    out.push({ name: 'name', in: 'path', required: true, type: 'string', uniqueItems: true, description });
  }
  if (t.def.namespaced) out.push(...ref('namespace'));
  return [...out, ...ref('pretty')];
}

function target(def: ResourceDefinition): Target {
  const ident = groupIdent(def.group, def.version);
  return {
    def,
    ident,
    tag: `${ident.charAt(0).toLowerCase()}${ident.slice(1, -def.version.length)}_${def.version}`,
    scope: def.namespaced ? 'Namespaced' : '',
    base: def.group ? `/apis/${def.group}/${def.version}` : `/api/${def.version}`,
    ns: def.namespaced ? '/namespaces/{namespace}' : '',
  };
}

function resourcePaths(def: ResourceDefinition, verbs: readonly Verb[]): Record<string, Obj> {
  const t = target(def);
  const gvk = { group: def.group, version: def.version, kind: def.kind };
  const collection = `${t.base}${t.ns}/${def.plural}`;
  const item = `${collection}/{name}`;
  const out: Record<string, Obj> = {};
  const add = (path: string, ops: Obj, named: boolean) => {
    if (Object.keys(ops).length) out[path] = { ...ops, parameters: pathParameters(t, named) };
  };
  add(collection, collectionOperations(t, verbs, gvk), false);
  const itemVerbs = verbs.filter((v) => v !== 'create');
  add(item, itemOperations(t, itemVerbs, gvk, '', `the specified ${def.kind}`), true);
  return { ...out, ...watchPaths(t, verbs, gvk), ...subresourcePaths(t, item, gvk) };
}

/** The all-namespaces list of a namespaced kind, and the /watch/ URLs upstream still lists (deprecated). */
function watchPaths(t: Target, verbs: readonly Verb[], gvk: Gvk): Record<string, Obj> {
  const { def, base, ns, ident, scope } = t;
  const out: Record<string, Obj> = {};
  const listParams = [...LIST_PARAMS, ...ref('pretty')];
  if (def.namespaced && verbs.includes('list')) {
    const get = operation(
      t,
      'list',
      `list${ident}${def.kind}ForAllNamespaces`,
      gvk,
      `List or watch ${def.kind} objects in all namespaces.`,
      {
        produces: WATCH_PRODUCES,
        responses: responses(kindRef({ ...gvk, kind: `${def.kind}List` })),
      },
    );
    out[`${base}/${def.plural}`] = { get, parameters: listParams };
  }
  if (!verbs.includes('watch')) return out;
  const watched = `${base}/watch${ns}/${def.plural}`;
  out[watched] = {
    get: watchOperation(t, gvk, 'watchlist', `watch${ident}${scope}${def.kind}List`, `Watch ${def.kind} objects.`),
    parameters: [...LIST_PARAMS, ...pathParameters(t, false)],
  };
  out[`${watched}/{name}`] = {
    get: watchOperation(t, gvk, 'watch', `watch${ident}${scope}${def.kind}`, `Watch one ${def.kind}.`),
    parameters: [...LIST_PARAMS, ...pathParameters(t, true)],
  };
  if (def.namespaced) {
    const id = `watch${ident}${def.kind}ListForAllNamespaces`;
    const get = watchOperation(t, gvk, 'watchlist', id, `Watch ${def.kind} objects in all namespaces.`);
    out[`${base}/watch/${def.plural}`] = { get, parameters: listParams };
  }
  return out;
}

function subresourcePaths(t: Target, item: string, gvk: Gvk): Record<string, Obj> {
  const subs: [string, readonly Verb[], Gvk][] = [];
  if (t.def.hasStatus) subs.push(['status', ['get', 'patch', 'update'], gvk]);
  for (const [name, sub] of Object.entries(t.def.subresources ?? {})) subs.push([name, sub.verbs, sub.kind ?? gvk]);
  const out: Record<string, Obj> = {};
  for (const [name, verbs, kind] of subs) {
    const suffix = name.charAt(0).toUpperCase() + name.slice(1);
    const ops = itemOperations(t, verbs, kind, suffix, `the ${name} of the specified ${t.def.kind}`);
    if (Object.keys(ops).length) out[`${item}/${name}`] = { ...ops, parameters: pathParameters(t, true) };
  }
  return out;
}

/** Every resource's paths, in registry order. */
export function swaggerPaths(defs: readonly ResourceDefinition[], verbsOf: (d: ResourceDefinition) => readonly Verb[]) {
  const paths: Record<string, Obj> = {};
  for (const def of defs) Object.assign(paths, resourcePaths(def, verbsOf(def)));
  return paths;
}
