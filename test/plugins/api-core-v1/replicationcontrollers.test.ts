import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import { rcDefinition, selectorString } from '../../../plugins/api-core-v1/replicationcontrollers.js';
import { FakeStore, type Json, rejection } from './fake-store.js';

const rc = (spec: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: 'web' },
  spec: {
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
    ...spec,
  },
});

describe('plugins/api-core-v1: replicationcontrollers', () => {
  let store: FakeStore;
  beforeEach(() => {
    store = new FakeStore(rcDefinition);
  });

  it('defaults replicas, selector and labels from the template, and the template spec', async () => {
    const created = await store.create('default', rc());
    const spec = created.spec as Json;
    expect(spec.replicas).to.equal(1);
    expect(spec.selector).to.deep.equal({ app: 'web' });
    expect(created.metadata.labels).to.deep.equal({ app: 'web' });
    expect(spec.template.spec).to.include({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' });
    expect(spec.template.spec.containers[0].imagePullPolicy).to.equal('IfNotPresent');
    expect(spec.template.spec).to.not.have.property('enableServiceLinks');
    expect(created.status).to.deep.equal({ replicas: 0 });
  });

  it('rejects a selector that does not match the template, with upstream message', async () => {
    const err = await rejection(store.create('default', rc({ selector: { app: 'other' } })));
    expect(err.message).to.equal(
      'ReplicationController "web" is invalid: spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`',
    );
  });

  it('validates replicas, template pod spec paths and restart policy', async () => {
    const err = await rejection(
      store.create(
        'default',
        rc({
          replicas: -1,
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { restartPolicy: 'Never', containers: [{ name: 'c' }] },
          },
        }),
      ),
    );
    const messages = err.details!.causes!.map((c) => `${c.field}: ${c.message}`);
    expect(messages).to.include('spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    expect(messages).to.include('spec.template.spec.containers[0].image: Required value');
    expect(messages).to.include(
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    );
    expect((await rejection(store.create('default', { metadata: { name: 'x' }, spec: {} }))).message).to.contain(
      'spec.selector: Required value',
    );
  });

  it('keeps status on update of the main resource', async () => {
    const created = await store.create('default', rc());
    store.put({ ...created, status: { replicas: 3 } });
    const updated = await store.guaranteedUpdate('default', 'web', (cur) => ({ ...cur, status: { replicas: 0 } }));
    expect(updated.status).to.deep.equal({ replicas: 3 });
  });

  describe('scale', () => {
    const scale = rcDefinition.subresources!.scale!;
    const req = (body?: KubeObject) => ({
      namespace: 'default',
      name: 'web',
      dryRun: false,
      query: new URLSearchParams(),
      store,
      body: body as KubeObject,
    });

    it('GET builds an autoscaling/v1 Scale from the RC', async () => {
      const template = {
        metadata: { labels: { app: 'web', tier: 'fe' } },
        spec: { containers: [{ name: 'c', image: 'i' }] },
      };
      const created = await store.create('default', rc({ selector: { tier: 'fe', app: 'web' }, template }));
      const s = await scale.handler.get!(req());
      expect(s).to.deep.equal({
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: {
          name: 'web',
          namespace: 'default',
          uid: created.metadata.uid,
          resourceVersion: created.metadata.resourceVersion,
          creationTimestamp: created.metadata.creationTimestamp,
        },
        spec: { replicas: 1 },
        status: { replicas: 0, selector: 'app=web,tier=fe' },
      });
    });

    it('PUT sets spec.replicas and honours the resourceVersion precondition', async () => {
      await store.create('default', rc());
      const current = await scale.handler.get!(req());
      const updated = await scale.handler.update!(req({ ...current, spec: { replicas: 5 } }));
      expect((updated.spec as Json).replicas).to.equal(5);
      expect(((await store.get('default', 'web')).spec as Json).replicas).to.equal(5);
      expect(store.lastOptions).to.include({
        subresource: 'scale',
        expectedResourceVersion: current.metadata.resourceVersion,
      });
      const stale = await rejection(scale.handler.update!(req({ ...current, spec: { replicas: 6 } })));
      expect(stale.code).to.equal(409);
      const negative = await rejection(
        scale.handler.update!(req({ metadata: { name: 'web' }, spec: { replicas: -2 } })),
      );
      expect(negative.message).to.equal(
        'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -2: must be greater than or equal to 0',
      );
    });

    it('selectorString sorts keys', () => {
      expect(selectorString({ b: '2', a: '1' })).to.equal('a=1,b=2');
      expect(selectorString(undefined)).to.equal('');
    });
  });

  it('is stored under upstream prefix and selects on status.replicas', () => {
    expect(rcDefinition.storagePrefix).to.equal('/registry/controllers/');
    expect(rcDefinition.fieldSelectors!['status.replicas']!({ metadata: {}, status: { replicas: 2 } })).to.equal('2');
  });
});
