import { expect } from 'chai';
import type { StatusError } from '../../../core/errors.js';
import {
  endpointsDefinition,
  eventDefinition,
  eventFieldSelectors,
} from '../../../plugins/api-core-v1/endpoints-events.js';
import { nodeDefinition } from '../../../plugins/api-core-v1/nodes.js';
import { quotaDefinitions } from '../../../plugins/api-core-v1/quotas.js';
import { volumeDefinitions } from '../../../plugins/api-core-v1/volumes.js';
import { FakeStore, type Json, rejection } from './fake-store.js';

const messages = (err: StatusError) => err.details!.causes!.map((c) => `${c.field}: ${c.message}`);

describe('plugins/api-core-v1: nodes, endpoints, events, quotas, volumes', () => {
  it('nodes keep the status they register with, default allocatable, validate taints', async () => {
    const store = new FakeStore(nodeDefinition);
    const node = await store.create('', {
      metadata: { name: 'n1' },
      status: { capacity: { cpu: '4', memory: '8Gi' } },
    });
    expect((node.status as Json).allocatable).to.deep.equal({ cpu: '4', memory: '8Gi' });
    const updated = await store.guaranteedUpdate('', 'n1', (cur) => ({ ...cur, status: {} }));
    expect((updated.status as Json).capacity.cpu).to.equal('4');
    const err = await rejection(
      store.create('', {
        metadata: { name: 'n2' },
        spec: {
          podCIDR: '10.0.0.0/33',
          taints: [
            { key: 'a', effect: 'Never' },
            { key: 'b' },
            { key: 'c', effect: 'NoSchedule' },
            { key: 'c', effect: 'NoSchedule' },
          ],
        },
      }),
    );
    const m = messages(err);
    expect(m).to.include(
      'spec.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    );
    expect(m).to.include('spec.taints[1].effect: Required value');
    expect(m.some((x) => x.startsWith('spec.taints[3]: Duplicate value'))).to.equal(true);
    expect(m.some((x) => x.startsWith('spec.podCIDR: Invalid value: "10.0.0.0/33"'))).to.equal(true);
    expect(
      nodeDefinition.fieldSelectors!['spec.unschedulable']!({ metadata: {}, spec: { unschedulable: true } }),
    ).to.equal('true');
    expect(nodeDefinition.storagePrefix).to.equal('/registry/minions/');
  });

  it('endpoints: addresses and ports checked, loopback allowed, protocol defaulted', async () => {
    const store = new FakeStore(endpointsDefinition);
    const ep = await store.create('default', {
      metadata: { name: 'kubernetes' },
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: 6443 }] }],
    });
    expect((ep.subsets as Json)[0].ports[0].protocol).to.equal('TCP');
    const err = await rejection(
      store.create('default', {
        metadata: { name: 'bad' },
        subsets: [{ addresses: [{ ip: '999.1.1.1' }], ports: [{ port: 80 }, { port: 0 }] }, { ports: [] }],
      }),
    );
    const m = messages(err);
    expect(
      m.some((x) => x.startsWith('subsets[0].addresses[0].ip: Invalid value: "999.1.1.1": must be a valid IP address')),
    ).to.equal(true);
    expect(m).to.include('subsets[0].ports[0].name: Required value');
    expect(m).to.include('subsets[1]: Required value: must specify `addresses` or `notReadyAddresses`');
    expect(endpointsDefinition).to.include({
      storagePrefix: '/registry/services/endpoints/',
      allowCreateOnUpdate: true,
    });
    expect(endpointsDefinition.strategy!.tracksGeneration).to.equal(false);
  });

  it('events must live in their object namespace; field selectors', async () => {
    const store = new FakeStore(eventDefinition);
    await store.create('default', { metadata: { name: 'e1' }, involvedObject: { kind: 'Node', name: 'n1' } });
    const err = await rejection(
      store.create('team', {
        metadata: { name: 'e2' },
        involvedObject: { kind: 'Pod', namespace: 'other', name: 'p' },
      }),
    );
    expect(err.message).to.equal(
      'Event "e2" is invalid: involvedObject.namespace: Invalid value: "other": does not match event.namespace',
    );
    const ev = {
      metadata: {},
      involvedObject: { kind: 'Pod', uid: 'u1' },
      source: { component: 'kubelet' },
      type: 'Warning',
    };
    expect(eventFieldSelectors!['involvedObject.kind']!(ev)).to.equal('Pod');
    expect(eventFieldSelectors!.source!(ev)).to.equal('kubelet');
    expect(eventFieldSelectors!.reason!(ev)).to.equal('');
  });

  it('resource quotas reset status on create; quantities must be valid and non-negative', async () => {
    const store = new FakeStore(quotaDefinitions[0]!);
    const q = await store.create('default', {
      metadata: { name: 'q' },
      spec: { hard: { pods: '10', 'requests.cpu': '2' } },
      status: { used: { pods: '99' } },
    });
    expect(q.status).to.deep.equal({});
    const err = await rejection(
      store.create('default', { metadata: { name: 'q2' }, spec: { hard: { cpu: '-1', memory: 'x' } } }),
    );
    const m = messages(err);
    expect(m).to.include('spec.hard[cpu]: Invalid value: "-1": must be greater than or equal to 0');
    expect(
      m.some((x) =>
        x.startsWith('spec.hard[memory]: Invalid value: "x": quantities must match the regular expression'),
      ),
    ).to.equal(true);
  });

  it('limit ranges keep min ≤ default ≤ max', async () => {
    const store = new FakeStore(quotaDefinitions[1]!);
    await store.create('default', {
      metadata: { name: 'ok' },
      spec: { limits: [{ type: 'Container', min: { cpu: '100m' }, default: { cpu: '500m' }, max: { cpu: '1' } }] },
    });
    const err = await rejection(
      store.create('default', {
        metadata: { name: 'bad' },
        spec: { limits: [{ type: 'Container', min: { cpu: '2' }, max: { cpu: '1' } }] },
      }),
    );
    // Defaulting runs first, as upstream: default and defaultRequest come from max, and clash with min too.
    expect(messages(err)).to.deep.equal([
      'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1',
      'spec.limits[0].defaultRequest[cpu]: Invalid value: "1": min value 2 is greater than default request value 1',
      'spec.limits[0].default[cpu]: Invalid value: "1": min value 2 is greater than default value 1',
    ]);
  });

  it('persistent volumes: defaults, Pending phase, one source and a capacity', async () => {
    const store = new FakeStore(volumeDefinitions[0]!);
    const pv = await store.create('', {
      metadata: { name: 'pv1' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp/pv1' } },
    });
    expect(pv.spec).to.deep.include({ persistentVolumeReclaimPolicy: 'Retain', volumeMode: 'Filesystem' });
    expect((pv.status as Json).phase).to.equal('Pending');
    const err = await rejection(store.create('', { metadata: { name: 'pv2' }, spec: { accessModes: ['Sometimes'] } }));
    const m = messages(err);
    expect(m).to.include('spec.capacity: Required value');
    expect(m).to.include('spec: Required value: must specify a volume type');
    expect(m.some((x) => x.startsWith('spec.accessModes[0]: Unsupported value: "Sometimes"'))).to.equal(true);
  });

  it('persistent volume claims: storage request required; spec immutable except binding and expansion', async () => {
    const store = new FakeStore(volumeDefinitions[1]!);
    const missing = await rejection(
      store.create('default', { metadata: { name: 'c0' }, spec: { accessModes: ['ReadWriteOnce'] } }),
    );
    expect(messages(missing)).to.include('spec.resources[storage]: Required value');
    const pvc = await store.create('default', {
      metadata: { name: 'c1' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    expect(pvc.status).to.deep.equal({ phase: 'Pending' });
    const bound = await store.guaranteedUpdate('default', 'c1', (cur) => ({
      ...cur,
      spec: { ...(cur.spec as object), volumeName: 'pv1' },
    }));
    expect((bound.spec as Json).volumeName).to.equal('pv1');
    const err = await rejection(
      store.guaranteedUpdate('default', 'c1', (cur) => ({
        ...cur,
        spec: { ...(cur.spec as object), accessModes: ['ReadWriteMany'] },
      })),
    );
    expect(err.message).to.contain('spec: Forbidden: spec is immutable after creation');
    store.put({ ...bound, status: { phase: 'Bound' } });
    const grown = await store.guaranteedUpdate('default', 'c1', (cur) => ({
      ...cur,
      spec: { ...(cur.spec as object), resources: { requests: { storage: '2Gi' } } },
    }));
    expect((grown.spec as Json).resources.requests.storage).to.equal('2Gi');
  });
});
