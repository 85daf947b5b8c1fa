import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import { NAME_LABEL, namespaceDefinition } from '../../../plugins/api-core-v1/namespaces.js';
import { FakeStore, type Json, rejection } from './fake-store.js';

describe('plugins/api-core-v1: namespaces', () => {
  let store: FakeStore;
  beforeEach(() => {
    store = new FakeStore(namespaceDefinition);
  });

  it('is Active with the kubernetes finalizer and the name label on create', async () => {
    const ns = await store.create('', { metadata: { name: 'team-a' } });
    expect(ns.status).to.deep.equal({ phase: 'Active' });
    expect(ns.spec).to.deep.equal({ finalizers: ['kubernetes'] });
    expect(ns.metadata.labels).to.deep.equal({ [NAME_LABEL]: 'team-a' });
    const custom = await store.create('', { metadata: { name: 'b' }, spec: { finalizers: ['example.com/x'] } });
    expect((custom.spec as Json).finalizers).to.deep.equal(['example.com/x', 'kubernetes']);
  });

  it('rejects finalizers that are neither standard nor qualified', async () => {
    const err = await rejection(store.create('', { metadata: { name: 'c' }, spec: { finalizers: ['mine'] } }));
    expect(err.message).to.equal(
      'Namespace "c" is invalid: spec.finalizers: Invalid value: "mine": name is neither a standard finalizer name nor is it fully qualified',
    );
  });

  it('an update keeps spec.finalizers, status and the name label', async () => {
    await store.create('', { metadata: { name: 'team-a' } });
    const updated = await store.guaranteedUpdate('', 'team-a', (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, labels: { env: 'dev' } },
      spec: { finalizers: [] },
      status: { phase: 'Terminating' },
    }));
    expect(updated.spec).to.deep.equal({ finalizers: ['kubernetes'] });
    expect(updated.status).to.deep.equal({ phase: 'Active' });
    expect(updated.metadata.labels).to.deep.equal({ env: 'dev', [NAME_LABEL]: 'team-a' });
  });

  it('finalize replaces only spec.finalizers', async () => {
    const created = await store.create('', { metadata: { name: 'team-a' } });
    const finalize = namespaceDefinition.subresources!.finalize!;
    expect(finalize.verbs).to.deep.equal(['update']);
    const body: KubeObject = {
      ...created,
      metadata: { ...created.metadata, labels: { sneaky: 'yes' } },
      spec: { finalizers: [] },
      status: { phase: 'Gone' },
    };
    const result = await finalize.handler.update!({
      namespace: 'team-a',
      name: 'team-a',
      dryRun: false,
      query: new URLSearchParams(),
      store,
      body,
    });
    expect(result.spec).to.deep.equal({});
    expect(result.status).to.deep.equal({ phase: 'Active' });
    expect(result.metadata.labels).to.deep.equal({ [NAME_LABEL]: 'team-a' });
    expect(store.lastOptions).to.include({ subresource: 'finalize' });
  });

  it('is cluster-scoped, a DNS label, selectable by status.phase', () => {
    expect(namespaceDefinition).to.include({ namespaced: false, nameRule: 'label', hasStatus: true });
    expect(namespaceDefinition.shortNames).to.deep.equal(['ns']);
    expect(
      namespaceDefinition.fieldSelectors!['status.phase']!({ metadata: {}, status: { phase: 'Active' } }),
    ).to.equal('Active');
  });
});
