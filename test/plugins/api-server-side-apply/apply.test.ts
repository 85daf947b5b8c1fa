import { expect } from 'chai';
import { validatePatchOptions } from '../../../core/api/patch.js';
import type { KubeObject } from '../../../core/api/types.js';
import { isStatusError, type StatusError } from '../../../core/errors.js';
import { patchMetaFor } from '../../../plugins/api-core-v1/patch-meta.js';
import { applyConfig, type ManagedContext, trackUpdate } from '../../../plugins/api-server-side-apply/apply.js';
import { FieldSet, pathString } from '../../../plugins/api-server-side-apply/field-set.js';
import {
  decodeManagedFields,
  managerFromUserAgent,
  managerOf,
} from '../../../plugins/api-server-side-apply/managed-fields.js';
import { checkApplyLists, compare, toFieldSet } from '../../../plugins/api-server-side-apply/typed-value.js';

const meta = patchMetaFor('Pod');
const ctx = (manager: string): ManagedContext => ({
  manager,
  apiVersion: 'v1',
  meta,
  ignoreStatus: true,
  now: '2025-01-02T03:04:05Z',
});

const pod = (image: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image, ports: [{ containerPort: 80 }] }], ...extra },
});

function fields(obj: KubeObject, manager: string): unknown {
  const list = obj.metadata.managedFields as { manager: string; fieldsV1: unknown }[];
  return list.find((e) => e.manager === manager)?.fieldsV1;
}

function conflictOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    if (isStatusError(err)) return err;
    throw err;
  }
  throw new Error('expected a conflict');
}

describe('server-side apply: field sets', () => {
  it('encodes an applied configuration as upstream FieldsV1', () => {
    const set = toFieldSet(pod('nginx') as never, meta);
    expect(set.toFieldsV1()).to.deep.equal({
      'f:apiVersion': {},
      'f:kind': {},
      'f:metadata': { 'f:labels': { 'f:app': {} }, 'f:name': {} },
      'f:spec': {
        'f:containers': {
          'k:{"name":"c"}': {
            '.': {},
            'f:image': {},
            'f:name': {},
            'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
          },
        },
      },
    });
  });

  it('round-trips FieldsV1, sorts keys as upstream and prints paths', () => {
    const v1 = { 'f:b': {}, 'f:a': { '.': {}, 'f:x': {} }, 'f:l': { 'v:"z"': {}, 'v:"a"': {} } };
    const set = FieldSet.fromFieldsV1(v1);
    expect(Object.keys(set.toFieldsV1())).to.deep.equal(['f:a', 'f:b', 'f:l']);
    expect(set.toFieldsV1()).to.deep.equal({
      'f:a': { '.': {}, 'f:x': {} },
      'f:b': {},
      'f:l': { 'v:"a"': {}, 'v:"z"': {} },
    });
    expect(pathString(['f:spec', 'f:containers', 'k:{"name":"c"}', 'f:image'])).to.equal(
      '.spec.containers[name="c"].image',
    );
    expect(pathString(['f:metadata', 'f:finalizers', 'v:"x"'])).to.equal('.metadata.finalizers[="x"]');
    expect(pathString(['f:spec', 'f:ports', 'k:{"port":80}'])).to.equal('.spec.ports[port=80]');
  });

  it('orders numeric keys numerically and atomic lists as leaves', () => {
    const set = toFieldSet(
      { spec: { containers: [{ name: 'c', ports: [{ containerPort: 8080 }, { containerPort: 80 }], args: ['a'] }] } },
      meta,
    );
    const item = (set.toFieldsV1()['f:spec'] as Record<string, Record<string, Record<string, unknown>>>)[
      'f:containers'
    ]!['k:{"name":"c"}'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(item['f:ports']!)).to.deep.equal([
      'k:{"containerPort":80,"protocol":"TCP"}',
      'k:{"containerPort":8080,"protocol":"TCP"}',
    ]);
    expect(item['f:args']).to.deep.equal({});
  });

  it('compares: new maps and list items are added with themselves; changed leaves are modified', () => {
    const c = compare(
      { metadata: {}, spec: { a: 1, containers: [{ name: 'c', image: 'x' }] } },
      { metadata: { labels: { k: 'v' } }, spec: { a: 2, containers: [{ name: 'c', image: 'x' }, { name: 'd' }] } },
      meta,
    );
    expect(c.added.toFieldsV1()).to.deep.equal({
      'f:metadata': { 'f:labels': { '.': {}, 'f:k': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"d"}': { '.': {}, 'f:name': {} } } },
    });
    expect(c.modified.toFieldsV1()).to.deep.equal({ 'f:spec': { 'f:a': {} } });
    expect(c.removed.isEmpty()).to.equal(true);
  });
});

describe('server-side apply: lists keyed by several fields (x-kubernetes-list-map-keys)', () => {
  const serviceMeta = patchMetaFor('Service');
  const dns = (ports: Record<string, unknown>[]): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'dns' },
    spec: { ports },
  });
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (isStatusError(err) && err.code === 400) return err.message;
      throw err;
    }
    throw new Error('expected a 400');
  };

  it("a Service's 53/TCP and 53/UDP are two ports, a left-out protocol counting as TCP", () => {
    const ports = [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53 },
    ];
    const set = toFieldSet(dns(ports) as never, serviceMeta).toFieldsV1() as { 'f:spec': { 'f:ports': object } };
    expect(Object.keys(set['f:spec']['f:ports'])).to.deep.equal([
      'k:{"port":53,"protocol":"TCP"}',
      'k:{"port":53,"protocol":"UDP"}',
    ]);
    const live = applyConfig(undefined, dns(ports), { ...ctx('me'), meta: serviceMeta }, false);
    const next = applyConfig(live, dns(ports.slice(0, 1)), { ...ctx('me'), meta: serviceMeta }, false);
    expect((next.spec as { ports: unknown[] }).ports).to.deep.equal([{ name: 'dns', port: 53, protocol: 'UDP' }]);
  });

  it('one port twice (TCP written out and TCP by default) is refused with both key fields in the path', () => {
    const twice = dns([{ port: 53 }, { port: 53, protocol: 'TCP' }]);
    expect(refusal(() => checkApplyLists(twice as never, serviceMeta))).to.equal(
      '.spec.ports: duplicate entries for key [port=53,protocol="TCP"]',
    );
  });

  it('a key field without a default must be written: topologySpreadConstraints need whenUnsatisfiable', () => {
    const spread = { spec: { topologySpreadConstraints: [{ topologyKey: 'zone', maxSkew: 1 }] } };
    expect(refusal(() => checkApplyLists(spread as never, meta))).to.equal(
      '.spec.topologySpreadConstraints: element 0: associative list with keys has an element that omits key field "whenUnsatisfiable" (and doesn\'t have default value)',
    );
    expect(refusal(() => checkApplyLists({ spec: { containers: ['web'] } } as never, meta))).to.equal(
      '.spec.containers: element 0: associative list with keys may not have non-map elements',
    );
  });
});

describe('server-side apply: managed fields and conflicts', () => {
  it('records an Update entry for a create, with upstream field order and timestamp', () => {
    const obj = pod('nginx');
    trackUpdate(undefined, obj, ctx('kubectl-create'));
    expect(obj.metadata.managedFields).to.deep.equal([
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2025-01-02T03:04:05Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              '.': {},
              'k:{"name":"c"}': {
                '.': {},
                'f:image': {},
                'f:name': {},
                'f:ports': { '.': {}, 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    ]);
  });

  it('an apply over a field another manager set to a different value conflicts, with upstream text', () => {
    const live = pod('nginx:1');
    trackUpdate(undefined, live, ctx('kubectl-client-side-apply'));
    const err = conflictOf(() => applyConfig(live, pod('nginx:2'), ctx('ssa'), false));
    expect(err.code).to.equal(409);
    expect(err.reason).to.equal('Conflict');
    expect(err.message).to.equal(
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.containers[name="c"].image',
    );
    expect(err.details?.causes).to.deep.equal([
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "kubectl-client-side-apply" using v1',
        field: '.spec.containers[name="c"].image',
      },
    ]);
  });

  it('lists several conflicts by manager, and an applier prints without version', () => {
    const withPriority = (image: string, priority: number): KubeObject => {
      const obj = pod(image);
      (obj.spec as Record<string, unknown>).priority = priority;
      return obj;
    };
    const live = applyConfig(undefined, withPriority('a', 1), ctx('one'), false);
    const err = conflictOf(() => applyConfig(live, withPriority('b', 2), ctx('two'), false));
    expect(err.message).to.equal(
      'Apply failed with 2 conflicts: conflicts with "one":\n- .spec.priority\n- .spec.containers[name="c"].image',
    );
  });

  it('same values are shared without conflict; force takes ownership', () => {
    const live = applyConfig(undefined, pod('nginx:1'), ctx('first'), false);
    const shared = applyConfig(live, pod('nginx:1'), ctx('second'), false);
    expect(fields(shared, 'first')).to.deep.equal(fields(shared, 'second'));
    const forced = applyConfig(shared, pod('nginx:2'), ctx('second'), true);
    expect((forced.spec as { containers: { image: string }[] }).containers[0]!.image).to.equal('nginx:2');
    const first = JSON.stringify(fields(forced, 'first'));
    expect(first).to.not.contain('f:image');
    expect(JSON.stringify(fields(forced, 'second'))).to.contain('f:image');
  });

  it('removes fields the applier dropped unless another manager owns them', () => {
    const withLabels = (labels: Record<string, string>) => ({ ...pod('x'), metadata: { name: 'p', labels } });
    let live = applyConfig(undefined, withLabels({ app: 'web', a: '1', b: '2' }), ctx('me'), false);
    live = applyConfig(live, withLabels({ app: 'web', b: '2' }) as never, ctx('other'), false);
    live = applyConfig(live, withLabels({ app: 'web' }), ctx('me'), false);
    expect(live.metadata.labels).to.deep.equal({ app: 'web', b: '2' });
    // A dropped list item goes too.
    const two = {
      ...pod('x'),
      spec: {
        containers: [
          { name: 'c', image: 'x' },
          { name: 'd', image: 'y' },
        ],
      },
    };
    live = applyConfig(undefined, two, ctx('me'), false);
    live = applyConfig(live, { ...pod('x'), spec: { containers: [{ name: 'c', image: 'x' }] } }, ctx('me'), false);
    expect((live.spec as { containers: { name: string }[] }).containers.map((c) => c.name)).to.deep.equal(['c']);
  });

  it('an update takes the fields it changes from other managers and drops empty entries', () => {
    const live = applyConfig(undefined, pod('nginx:1'), ctx('applier'), false);
    const next = structuredClone(live);
    (next.spec as { containers: { image: string }[] }).containers[0]!.image = 'nginx:2';
    trackUpdate(live, next, ctx('editor'));
    expect(fields(next, 'editor')).to.deep.equal({
      'f:spec': { 'f:containers': { 'k:{"name":"c"}': { 'f:image': {} } } },
    });
    expect(JSON.stringify(fields(next, 'applier'))).to.not.contain('f:image');
    // Status on the main resource is no one's.
    const status = structuredClone(next);
    status.status = { phase: 'Running' };
    trackUpdate(next, status, ctx('editor'));
    expect(JSON.stringify(status.metadata.managedFields)).to.not.contain('f:status');
  });

  it('client-provided managedFields replace the live ones', () => {
    const live = applyConfig(undefined, pod('nginx:1'), ctx('applier'), false);
    const next = structuredClone(live);
    next.metadata.managedFields = [
      { manager: 'migrated', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } },
    ];
    trackUpdate(live, next, ctx('kubectl'));
    expect((next.metadata.managedFields as { manager: string }[]).map((e) => e.manager)).to.deep.equal(['migrated']);
    expect(() => decodeManagedFields([{ operation: 'Nope' }])).to.throw();
  });

  it('derives the manager from fieldManager or the User-Agent', () => {
    expect(managerFromUserAgent('kubectl/v1.32.0 (linux/amd64) kubernetes/abc')).to.equal('kubectl');
    expect(managerOf(new URLSearchParams('fieldManager=x'), 'kubectl/v1')).to.equal('x');
    expect(managerOf(new URLSearchParams(), undefined)).to.equal('');
  });

  it('validates patch options as upstream', () => {
    expect(() => validatePatchOptions(new URLSearchParams(), true)).to.throw(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    expect(() => validatePatchOptions(new URLSearchParams('force=true'), false)).to.throw(
      'force: Forbidden: may not be specified for non-apply patch',
    );
    expect(() => validatePatchOptions(new URLSearchParams('fieldManager=m&force=true'), true)).to.not.throw();
  });
});
