import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import { computeQosClass, defaultPullPolicy } from '../../../plugins/api-core-v1/pod-defaults.js';
import { POD_UPDATE_FORBIDDEN } from '../../../plugins/api-core-v1/pod-validation.js';
import { bindPod, podDefinitions, podFieldSelectors } from '../../../plugins/api-core-v1/pods.js';
import { FakeStore, type Json, rejection } from './fake-store.js';

const pod = (spec: Record<string, unknown> = {}, name = 'web'): KubeObject => ({
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'nginx:1.25' }], ...spec },
});

describe('plugins/api-core-v1: pods', () => {
  let store: FakeStore;
  beforeEach(() => {
    const [pods] = podDefinitions(() => store);
    store = new FakeStore(pods!);
  });

  describe('defaults', () => {
    it('fills pod and container defaults and the initial status', async () => {
      const p = await store.create(
        'default',
        pod({ containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }] }),
      );
      const spec = p.spec as Json;
      expect(spec).to.include({
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst',
        terminationGracePeriodSeconds: 30,
        schedulerName: 'default-scheduler',
        enableServiceLinks: true,
      });
      // Left to the Priority admission plugin, as upstream: defaulting never sets them.
      expect(spec).to.not.have.any.keys('priority', 'preemptionPolicy');
      expect(spec.securityContext).to.deep.equal({});
      expect(spec).to.not.have.property('serviceAccountName');
      expect(spec.containers[0]).to.deep.include({
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'Always',
        resources: {},
      });
      expect(spec.containers[0].ports[0].protocol).to.equal('TCP');
      expect(p.status).to.deep.equal({ phase: 'Pending', qosClass: 'BestEffort' });
    });

    it('pull policy follows the tag', () => {
      expect(defaultPullPolicy('nginx')).to.equal('Always');
      expect(defaultPullPolicy('nginx:latest')).to.equal('Always');
      expect(defaultPullPolicy('nginx:1.25')).to.equal('IfNotPresent');
      expect(defaultPullPolicy('localhost:5000/team/app')).to.equal('Always');
      expect(defaultPullPolicy('localhost:5000/team/app:v2')).to.equal('IfNotPresent');
      expect(defaultPullPolicy('nginx@sha256:abcd')).to.equal('IfNotPresent');
    });

    it('QoS class from requests and limits (limits alone count as requests)', async () => {
      const withResources = (resources: unknown) => pod({ containers: [{ name: 'c', image: 'i', resources }] });
      const guaranteed = await store.create('default', withResources({ limits: { cpu: '500m', memory: '1Gi' } }));
      expect((guaranteed.status as Json).qosClass).to.equal('Guaranteed');
      expect((guaranteed.spec as Json).containers[0].resources.requests).to.deep.equal({ cpu: '500m', memory: '1Gi' });
      expect(
        computeQosClass({
          containers: [{ resources: { requests: { cpu: '0.5' }, limits: { cpu: '500m', memory: '1Gi' } } }],
        }),
      ).to.equal('Burstable');
      expect(computeQosClass({ containers: [{ resources: { requests: { cpu: '1' } } }] })).to.equal('Burstable');
      expect(computeQosClass({ containers: [{ resources: { requests: { 'example.com/gpu': '1' } } }] })).to.equal(
        'BestEffort',
      );
      expect(
        computeQosClass({
          containers: [
            { resources: { requests: { cpu: '1', memory: '1G' }, limits: { cpu: '1000m', memory: '1000M' } } },
          ],
        }),
      ).to.equal('Guaranteed');
    });
  });

  describe('validation', () => {
    it('requires containers, names and images, with upstream paths', async () => {
      const err = await rejection(store.create('default', { metadata: { name: 'x' }, spec: { containers: [] } }));
      expect(err.code).to.equal(422);
      expect(err.message).to.equal('Pod "x" is invalid: spec.containers: Required value');
      const err2 = await rejection(
        store.create('default', {
          metadata: { name: 'x' },
          spec: { containers: [{ name: 'Bad_Name' }, { name: 'Bad_Name', image: 'i' }] },
        }),
      );
      const fields = err2.details!.causes!.map((c) => c.field);
      expect(fields).to.include.members([
        'spec.containers[0].name',
        'spec.containers[0].image',
        'spec.containers[1].name',
      ]);
      expect(err2.details!.causes!.find((c) => c.reason === 'FieldValueDuplicate')?.field).to.equal(
        'spec.containers[1].name',
      );
    });

    it('checks ports, protocols and restart policy with upstream messages', async () => {
      const err = await rejection(
        store.create(
          'default',
          pod({
            restartPolicy: 'Sometimes',
            containers: [
              {
                name: 'c',
                image: 'i',
                ports: [
                  { containerPort: 70000, protocol: 'HTTP' },
                  { name: 'Web', containerPort: 80 },
                ],
              },
            ],
          }),
        ),
      );
      const messages = err.details!.causes!.map((c) => `${c.field}: ${c.message}`);
      expect(messages).to.include(
        'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      );
      expect(messages).to.include(
        'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
      );
      expect(messages).to.include(
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
      );
      expect(messages.some((m) => m.startsWith('spec.containers[0].ports[1].name: Invalid value: "Web"'))).to.equal(
        true,
      );
    });

    it('rejects a request above its limit and bad quantities', async () => {
      const err = await rejection(
        store.create(
          'default',
          pod({ containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }] }),
        ),
      );
      expect(err.message).to.contain(
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
      );
      const bad = await rejection(
        store.create(
          'default',
          pod({ containers: [{ name: 'c', image: 'i', resources: { limits: { memory: 'lots' } } }] }),
        ),
      );
      expect(bad.message).to.contain(
        'spec.containers[0].resources.limits[memory]: Invalid value: "lots": quantities must match',
      );
    });

    it('never throws on bodies of the wrong shape', async () => {
      for (const spec of [
        'x',
        { containers: 'x' },
        { containers: [1, null] },
        { containers: [{ name: 1, image: [] }] },
      ]) {
        const err = await rejection(store.create('default', { metadata: { name: 'x' }, spec } as KubeObject));
        expect(err.code).to.equal(422);
      }
    });
  });

  describe('update', () => {
    it('keeps status, allows image changes, forbids other spec changes', async () => {
      const created = await store.create('default', pod());
      const next = structuredClone(created);
      (next.spec as Json).containers[0].image = 'nginx:1.26';
      next.status = { phase: 'Running' };
      const updated = await store.guaranteedUpdate('default', 'web', () => next);
      expect((updated.spec as Json).containers[0].image).to.equal('nginx:1.26');
      expect((updated.status as Json).phase).to.equal('Pending');

      const err = await rejection(
        store.guaranteedUpdate('default', 'web', (cur) => {
          (cur.spec as Json).containers[0].ports = [{ containerPort: 8080 }];
          return cur;
        }),
      );
      expect(err.message).to.equal(`Pod "web" is invalid: spec: Forbidden: ${POD_UPDATE_FORBIDDEN}`);
      const nodeName = await rejection(
        store.guaranteedUpdate('default', 'web', (cur) => ({
          ...cur,
          spec: { ...(cur.spec as object), nodeName: 'n1' },
        })),
      );
      expect(nodeName.code).to.equal(422);
    });

    it('a PUT that leaves defaults out is not a change', async () => {
      await store.create('default', pod());
      const updated = await store.guaranteedUpdate('default', 'web', (cur) => ({ ...cur, spec: pod().spec }));
      expect((updated.spec as Json).restartPolicy).to.equal('Always');
    });

    it('activeDeadlineSeconds may only shrink; tolerations may only be added', async () => {
      await store.create(
        'default',
        pod({ activeDeadlineSeconds: 100, tolerations: [{ key: 'a', operator: 'Exists' }] }),
      );
      const setSpec = (patch: Record<string, unknown>) =>
        store.guaranteedUpdate('default', 'web', (cur) => ({ ...cur, spec: { ...(cur.spec as object), ...patch } }));
      await setSpec({ activeDeadlineSeconds: 50 });
      expect((await rejection(setSpec({ activeDeadlineSeconds: 60 }))).message).to.contain(
        'must be less than or equal to previous value',
      );
      await setSpec({
        tolerations: [
          { key: 'a', operator: 'Exists' },
          { key: 'b', operator: 'Exists' },
        ],
      });
      expect((await rejection(setSpec({ tolerations: [] }))).message).to.contain(
        'existing toleration can not be modified except its tolerationSeconds',
      );
    });
  });

  describe('binding', () => {
    const binding = (name: string, node = 'node-1'): KubeObject => ({
      kind: 'Binding',
      metadata: { name },
      target: { kind: 'Node', name: node },
    });

    it('sets nodeName once and marks the pod scheduled', async () => {
      await store.create('default', pod());
      const status = await bindPod(store, 'default', binding('web'), false, 'web');
      expect(status).to.deep.include({ kind: 'Status', status: 'Success' });
      expect(store.lastOptions).to.include({ subresource: 'binding' });
      const bound = await store.get('default', 'web');
      expect((bound.spec as Json).nodeName).to.equal('node-1');
      expect((bound.status as Json).conditions[0]).to.include({ type: 'PodScheduled', status: 'True' });
      expect((bound.status as Json).phase).to.equal('Pending');
      const again = await rejection(bindPod(store, 'default', binding('web', 'node-2'), false));
      expect(again.code).to.equal(409);
      expect(again.reason).to.equal('Conflict');
      expect(again.message).to.equal(
        'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "node-1"',
      );
    });

    it('validates the binding and its URL name; dry run stores nothing', async () => {
      await store.create('default', pod());
      expect((await rejection(bindPod(store, 'default', { metadata: { name: 'web' } }, false))).message).to.equal(
        'Binding "web" is invalid: target.name: Required value',
      );
      expect((await rejection(bindPod(store, 'default', binding('other'), false, 'web'))).code).to.equal(400);
      expect((await rejection(bindPod(store, 'default', binding('missing'), false))).code).to.equal(404);
      await bindPod(store, 'default', binding('web'), true);
      expect((await store.get('default', 'web')).spec).to.not.have.property('nodeName');
    });

    it('the bindings resource binds through the pods store', async () => {
      const [, bindings] = podDefinitions(() => store);
      expect(bindings).to.deep.include({ plural: 'bindings', verbs: ['create'] });
      await store.create('default', pod());
      await bindings!.virtualCreate!('default', binding('web'), false, { name: 'system:kube-scheduler', groups: [] });
      expect(((await store.get('default', 'web')).spec as Json).nodeName).to.equal('node-1');
    });
  });

  it('field selectors read what upstream selects on', async () => {
    const p = await store.create('default', pod({ nodeName: 'n1' }));
    p.status = { phase: 'Running', podIPs: [{ ip: '127.1.0.5' }] };
    const get = (field: string) => podFieldSelectors![field]!(p);
    expect(get('spec.nodeName')).to.equal('n1');
    expect(get('spec.hostNetwork')).to.equal('false');
    expect(get('status.phase')).to.equal('Running');
    expect(get('status.podIP')).to.equal('127.1.0.5');
    expect(get('spec.serviceAccountName')).to.equal('');
  });
});
