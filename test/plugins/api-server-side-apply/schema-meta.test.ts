import { expect } from 'chai';
import type { ResourceDefinition } from '../../../core/api/types.js';
import { patchMetaFor } from '../../../plugins/api-core-v1/patch-meta.js';
import { schemaMetaOf } from '../../../plugins/api-server-side-apply/schema-meta.js';
import { toFieldSet } from '../../../plugins/api-server-side-apply/typed-value.js';

const kind = (group: string, version: string, name: string, patchMeta = {}): ResourceDefinition =>
  ({ group, version, kind: name, plural: `${name.toLowerCase()}s`, namespaced: true, patchMeta }) as ResourceDefinition;

describe('server-side apply: atomic maps and structs from the API schema', () => {
  it("marks upstream's +mapType=atomic maps and +structType=atomic types, and keeps the kind's list rules", () => {
    const pod = schemaMetaOf(kind('', 'v1', 'Pod', patchMetaFor('Pod')));
    expect(pod['spec.nodeSelector']).to.deep.equal({ strategy: 'atomic' });
    expect(pod['metadata.ownerReferences[]']).to.deep.equal({ strategy: 'atomic' });
    expect(pod['spec.containers[].env[].valueFrom.secretKeyRef']).to.deep.equal({ strategy: 'atomic' });
    expect(pod['spec.containers']).to.deep.equal({ strategy: 'merge', mergeKey: 'name' });
    expect(pod).to.not.have.property('spec.containers[].resources');
    const deployment = schemaMetaOf(kind('apps', 'v1', 'Deployment'));
    expect(deployment['spec.selector']).to.deep.equal({ strategy: 'atomic' });
    expect(
      deployment['spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution'],
    ).to.deep.equal({
      strategy: 'atomic',
    });
  });

  it('an atomic value is one field: an owner reference is its key alone, a selector one leaf', () => {
    const meta = schemaMetaOf(
      kind('apps', 'v1', 'ReplicaSet', { 'metadata.ownerReferences': { strategy: 'merge', mergeKey: 'uid' } }),
    );
    const rs = {
      metadata: { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1' }] },
      spec: { selector: { matchLabels: { app: 'web' } } },
    };
    expect(toFieldSet(rs, meta).toFieldsV1()).to.deep.equal({
      'f:metadata': { 'f:ownerReferences': { 'k:{"uid":"u1"}': {} } },
      'f:spec': { 'f:selector': {} },
    });
  });
});
