import { expect } from 'chai';
import { type PatchType, ServedPatches } from '../../../core/api/patch.js';
import type { PatchMeta } from '../../../core/api/types.js';
import { patchMetaFor } from '../../../plugins/api-core-v1/patch-meta.js';
import { jsonPatchType } from '../../../plugins/api-patch-json/json-patch-type.js';
import { mergePatchType } from '../../../plugins/api-patch-strategic-merge/merge-patch.js';
import { strategicMergePatchType } from '../../../plugins/api-patch-strategic-merge/strategic-merge.js';

// Core's dispatch and depth check, with the patch types api-patch-json and api-patch-strategic-merge serve.
const served = new ServedPatches([jsonPatchType, mergePatchType, strategicMergePatchType]);
const applyPatch = (original: object, type: PatchType, patch: unknown, meta?: PatchMeta) =>
  served.apply(original, type, patch, meta);

const pod = () => ({
  metadata: { name: 'p', labels: { app: 'web', tier: 'front' }, finalizers: ['a'] },
  spec: {
    containers: [
      {
        name: 'web',
        image: 'nginx:1',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        ports: [{ containerPort: 80 }],
      },
      { name: 'sidecar', image: 'busybox' },
    ],
    tolerations: [{ key: 'x' }],
  },
});
const POD = patchMetaFor('Pod');

describe('core/api/patch', () => {
  it('never mutates its input', () => {
    const original = pod();
    const frozen = JSON.stringify(original);
    applyPatch(original, 'strategic', { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } }, POD);
    applyPatch(original, 'merge', { metadata: { labels: null } });
    applyPatch(original, 'json', [{ op: 'remove', path: '/spec/containers/1' }]);
    expect(JSON.stringify(original)).to.equal(frozen);
  });

  describe('JSON merge patch (kubectl label, annotate)', () => {
    it('adds, replaces and removes keys; lists are replaced', () => {
      const out = applyPatch(pod(), 'merge', {
        metadata: { labels: { tier: null, env: 'prod' } },
        spec: { tolerations: [] },
      }) as ReturnType<typeof pod>;
      expect(out.metadata.labels).to.deep.equal({ app: 'web', env: 'prod' });
      expect(out.spec.tolerations).to.deep.equal([]);
    });
    it('a non-object patch is a 400', () => {
      expect(() => applyPatch(pod(), 'merge', [1]))
        .to.throw()
        .with.property('code', 400);
    });
  });

  describe('JSON patch', () => {
    it('add, replace, remove, test', () => {
      const out = applyPatch(pod(), 'json', [
        { op: 'test', path: '/metadata/name', value: 'p' },
        { op: 'replace', path: '/spec/containers/0/image', value: 'nginx:3' },
        { op: 'add', path: '/metadata/labels/new', value: 'x' },
        { op: 'remove', path: '/spec/containers/1' },
      ]) as ReturnType<typeof pod>;
      expect(out.spec.containers).to.have.length(1);
      expect(out.spec.containers[0]!.image).to.equal('nginx:3');
      expect(out.metadata.labels).to.include({ new: 'x' });
    });
    it('a failed test or a path that does not apply is a 422 (as upstream); a body that is no list of operations is a 400', () => {
      expect(() => applyPatch(pod(), 'json', [{ op: 'test', path: '/metadata/name', value: 'q' }]))
        .to.throw()
        .with.property('code', 422);
      expect(() => applyPatch(pod(), 'json', [{ op: 'remove', path: '/nope/x' }]))
        .to.throw()
        .with.property('code', 422);
      expect(() => applyPatch(pod(), 'json', { op: 'add' }))
        .to.throw()
        .with.property('code', 400);
      expect(() => applyPatch(pod(), 'json', [1]))
        .to.throw()
        .with.property('code', 400);
    });
  });

  describe('hostile patches', () => {
    it('"__proto__" keys in merge and strategic merge patches stay data: no prototype is set, nothing global changes', () => {
      const patch = JSON.parse('{"metadata":{"__proto__":{"namespace":"kube-system"},"labels":{"__proto__":"x"}}}');
      for (const type of ['merge', 'strategic'] as const) {
        const out = applyPatch(pod(), type, patch, POD) as { metadata: Record<string, unknown> };
        expect(Object.getPrototypeOf(out.metadata), type).to.equal(Object.prototype);
        expect(out.metadata.namespace, type).to.equal(undefined);
        expect(Object.keys(out.metadata.labels as object), type).to.deep.equal(['app', 'tier', '__proto__']);
        expect(JSON.stringify(out), type).to.contain('"__proto__":{"namespace":"kube-system"}');
      }
      expect(({} as Record<string, unknown>).namespace).to.equal(undefined);
    });

    it('a patched object nested past the limit is a 422 on "patch"; a patch of too many operations a 413', () => {
      let deep: unknown = 1;
      for (let i = 0; i < 1100; i++) deep = { a: deep };
      const err = (() => {
        try {
          applyPatch(pod(), 'json', [{ op: 'add', path: '/spec/deep', value: deep }]);
        } catch (e) {
          return e as { code: number; details: { causes: { field: string; message: string }[] } };
        }
      })();
      expect(err?.code).to.equal(422);
      expect(err?.details.causes[0]).to.deep.equal({
        field: 'patch',
        message: 'the patched object is nested too deeply: exceeded max depth of 1000',
      });
      const ops = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/metadata/name', value: 'p' }));
      expect(() => applyPatch(pod(), 'json', ops))
        .to.throw('The allowed maximum operations in a JSON patch is 10000, got 10001')
        .with.property('code', 413);
    });
  });

  describe('strategic merge patch', () => {
    it('merges containers by name and env by name (kubectl apply)', () => {
      const out = applyPatch(
        pod(),
        'strategic',
        {
          spec: {
            '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }],
            containers: [
              {
                name: 'web',
                image: 'nginx:2',
                env: [
                  { name: 'B', value: '3' },
                  { name: 'C', value: '4' },
                ],
              },
            ],
          },
        },
        POD,
      ) as ReturnType<typeof pod>;
      const [web, sidecar] = out.spec.containers;
      expect(web!.image).to.equal('nginx:2');
      expect(web!.ports).to.deep.equal([{ containerPort: 80 }]);
      expect(web!.env).to.deep.equal([
        { name: 'A', value: '1' },
        { name: 'B', value: '3' },
        { name: 'C', value: '4' },
      ]);
      expect(sidecar!.image).to.equal('busybox');
    });
    it('$patch: delete removes one element; null removes a key; lists without merge keys are replaced', () => {
      const out = applyPatch(
        pod(),
        'strategic',
        {
          metadata: { labels: { tier: null } },
          spec: { containers: [{ name: 'sidecar', $patch: 'delete' }], tolerations: [{ key: 'y' }] },
        },
        POD,
      ) as ReturnType<typeof pod>;
      expect(out.spec.containers.map((c) => c.name)).to.deep.equal(['web']);
      expect(out.metadata.labels).to.deep.equal({ app: 'web' });
      expect(out.spec.tolerations).to.deep.equal([{ key: 'y' }]);
    });
    it('$patch: replace on a list, $deleteFromPrimitiveList and finalizer union', () => {
      const replaced = applyPatch(
        pod(),
        'strategic',
        { spec: { containers: [{ name: 'only', image: 'i' }, { $patch: 'replace' }] } },
        POD,
      ) as ReturnType<typeof pod>;
      expect(replaced.spec.containers).to.deep.equal([{ name: 'only', image: 'i' }]);
      const fins = applyPatch(pod(), 'strategic', { metadata: { finalizers: ['b'] } }, POD) as ReturnType<typeof pod>;
      expect(fins.metadata.finalizers).to.deep.equal(['a', 'b']);
      const removed = applyPatch(
        pod(),
        'strategic',
        { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
        POD,
      ) as ReturnType<typeof pod>;
      expect(removed.metadata.finalizers).to.deep.equal([]);
    });
    it('service ports merge by port', () => {
      const svc = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
      const out = applyPatch(
        svc,
        'strategic',
        { spec: { ports: [{ port: 80, targetPort: 9090 }] } },
        patchMetaFor('Service'),
      ) as typeof svc;
      expect(out.spec.ports).to.deep.equal([{ port: 80, targetPort: 9090 }, { port: 443 }]);
    });
    it('bad directives and shapes are 400s', () => {
      expect(() => applyPatch(pod(), 'strategic', { $patch: 'explode' }, POD))
        .to.throw()
        .with.property('code', 400);
      expect(() => applyPatch(pod(), 'strategic', { spec: { containers: [{ image: 'no-name' }] } }, POD))
        .to.throw()
        .with.property('code', 400);
      expect(() => applyPatch(pod(), 'strategic', 'string', POD))
        .to.throw()
        .with.property('code', 400);
    });
  });
});
