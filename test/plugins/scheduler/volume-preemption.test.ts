/**
 * VolumeRestrictions (after upstream's volume_restrictions_test.go), the queue-order and gate
 * plugins (PrioritySort, SchedulingGates), and DefaultPreemption's victim selection and node
 * choice (after default_preemption_test.go's SelectVictimsOnNode and pickOneNodeForPreemption).
 */
import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import { Code } from '../../../core/sdk/scheduler.js';
import { SchedulingCycleState } from '../../../plugins/scheduler-default/framework/cycle-state.js';
import {
  type Candidate,
  pickOneNode,
  selectVictims,
} from '../../../plugins/scheduler-default/intree/preemption-victims.js';
import { boundPod, codesOf, harness, type Json, makeNode, makePod, reasonsOf, withRequests } from './harness.js';

const DISK = 'node(s) had no available disk';

describe('scheduler plugin VolumeRestrictions', () => {
  const volumePod = (name: string, volume: Json, node?: string) =>
    (node
      ? boundPod(name, node, { volumes: [{ name: 'v', ...volume }] })
      : makePod(name, { volumes: [{ name: 'v', ...volume }] })) as KubeObject;
  const verdict = (existing: Json, incoming: Json) =>
    reasonsOf(
      harness({ nodes: [makeNode('n')], pods: [volumePod('old', existing, 'n')] }).filter(
        'VolumeRestrictions',
        volumePod('new', incoming),
      ),
    )[0];

  it('GCE PD: the same disk conflicts unless both mount it read-only', () => {
    expect(verdict({ gcePersistentDisk: { pdName: 'foo' } }, { gcePersistentDisk: { pdName: 'foo' } })).to.equal(DISK);
    expect(
      verdict(
        { gcePersistentDisk: { pdName: 'foo', readOnly: true } },
        { gcePersistentDisk: { pdName: 'foo', readOnly: true } },
      ),
    ).to.equal('fits');
    expect(verdict({ gcePersistentDisk: { pdName: 'foo' } }, { gcePersistentDisk: { pdName: 'bar' } })).to.equal(
      'fits',
    );
  });

  it('AWS EBS: the same volume always conflicts', () => {
    expect(
      verdict(
        { awsElasticBlockStore: { volumeID: 'a', readOnly: true } },
        { awsElasticBlockStore: { volumeID: 'a', readOnly: true } },
      ),
    ).to.equal(DISK);
    expect(verdict({ awsElasticBlockStore: { volumeID: 'a' } }, { awsElasticBlockStore: { volumeID: 'b' } })).to.equal(
      'fits',
    );
  });

  it('RBD: same monitors (any overlap), pool and image conflict; iSCSI: same IQN', () => {
    const rbd = (monitors: string[], image: string, readOnly = false) => ({
      rbd: { monitors, image, pool: 'rbd', readOnly },
    });
    expect(verdict(rbd(['a', 'b'], 'img'), rbd(['b', 'c'], 'img'))).to.equal(DISK);
    expect(verdict(rbd(['a'], 'img'), rbd(['c'], 'img'))).to.equal('fits');
    expect(verdict(rbd(['a'], 'img', true), rbd(['a'], 'img', true))).to.equal('fits');
    expect(
      verdict(
        { iscsi: { iqn: 'iqn.x', targetPortal: 't', lun: 0 } },
        { iscsi: { iqn: 'iqn.x', targetPortal: 't', lun: 0 } },
      ),
    ).to.equal(DISK);
  });

  it('a ReadWriteOncePod claim used by a pod anywhere refuses every node', () => {
    const claim = {
      metadata: { name: 'data', namespace: 'default' },
      spec: { accessModes: ['ReadWriteOncePod'] },
    } as KubeObject;
    const h = harness({
      nodes: [makeNode('a'), makeNode('b')],
      pods: [volumePod('old', { persistentVolumeClaim: { claimName: 'data' } }, 'a')],
      listers: { persistentvolumeclaims: [claim] },
    });
    const want = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';
    expect(
      reasonsOf(h.filter('VolumeRestrictions', volumePod('new', { persistentVolumeClaim: { claimName: 'data' } }))),
    ).to.deep.equal([want, want]);
    expect(
      reasonsOf(h.filter('VolumeRestrictions', volumePod('new', { persistentVolumeClaim: { claimName: 'gone' } }))),
    ).to.deep.equal(['persistentvolumeclaim "gone" not found', 'persistentvolumeclaim "gone" not found']);
  });
});

describe('scheduler plugins PrioritySort and SchedulingGates', () => {
  const h = harness({ nodes: [] });
  const fwk = h.component.frameworks.get('default-scheduler')!;
  const queued = (priority: number, timestamp: number) => ({
    info: h.info(makePod(`p${priority}-${timestamp}`, { priority })),
    timestamp,
    attempts: 0,
  });

  it('PrioritySort: higher priority first, then the one queued earlier', () => {
    expect(fwk.less(queued(10, 5), queued(1, 1))).to.equal(true);
    expect(fwk.less(queued(1, 1), queued(10, 5))).to.equal(false);
    expect(fwk.less(queued(5, 1), queued(5, 2))).to.equal(true);
  });

  it('SchedulingGates: a gated pod is held at PreEnqueue, naming its gates', () => {
    const s = fwk.runPreEnqueue(h.info(makePod('g', { schedulingGates: [{ name: 'example.com/a' }, { name: 'b' }] })));
    expect(s?.code).to.equal(Code.UnschedulableAndUnresolvable);
    expect(s?.reasons).to.deep.equal(['waiting for scheduling gates: [example.com/a b]']);
    expect(s?.plugin).to.equal('SchedulingGates');
    expect(fwk.runPreEnqueue(h.info(makePod('free')))).to.equal(undefined);
  });
});

describe('scheduler plugin DefaultPreemption: victims and candidates', () => {
  const node = makeNode('n', { allocatable: { cpu: '3', memory: '3Gi' } });
  const running = (name: string, priority: number, cpu: string, startTime?: string) =>
    ({
      ...boundPod(name, 'n', { priority, ...withRequests({ cpu }) }),
      status: startTime ? { startTime } : {},
    }) as KubeObject;
  const select = (pods: KubeObject[], preemptor: KubeObject) => {
    const h = harness({ nodes: [node], pods });
    const fwk = h.component.frameworks.get('default-scheduler')!;
    const state = new SchedulingCycleState();
    const info = h.info(preemptor);
    fwk.runPreFilter(state, info, h.component.cache.nodeList());
    return selectVictims(fwk, state, info, h.node('n').clone());
  };

  it('evicts only lower-priority pods, and gives back the most important ones it can', () => {
    const pods = [running('low-a', 1, '1'), running('low-b', 2, '1'), running('high', 100, '1')];
    const r = select(pods, makePod('urgent', { priority: 50, ...withRequests({ cpu: '1' }) }));
    expect(r.status).to.equal(undefined);
    // Removing low-a frees enough; low-b (more important) is given back.
    expect(r.victims.map((v) => v.name)).to.deep.equal(['low-a']);
  });

  it('no lower-priority pods: "No preemption victims found for incoming pod"', () => {
    const r = select([running('high', 100, '3')], makePod('p', { priority: 50, ...withRequests({ cpu: '1' }) }));
    expect(r.status?.reasons).to.deep.equal(['No preemption victims found for incoming pod']);
    expect(r.status?.code).to.equal(Code.UnschedulableAndUnresolvable);
  });

  it('still does not fit with every lower-priority pod gone: the filter verdict', () => {
    const r = select(
      [running('low', 1, '1'), running('high', 100, '2')],
      makePod('p', { priority: 50, ...withRequests({ cpu: '2' }) }),
    );
    expect(r.status?.reasons).to.deep.equal(['Insufficient cpu']);
  });

  it('picks the node whose highest victim has the lowest priority, then the smallest sum, then fewer victims', () => {
    const h = harness({ nodes: [] });
    const v = (name: string, priority: number, startTime?: string) =>
      h.info({ ...makePod(name, { priority }), status: startTime ? { startTime } : {} } as KubeObject);
    const c = (node: string, ...victims: ReturnType<typeof v>[]): Candidate => ({ node, victims, pdbViolations: 0 });
    expect(pickOneNode([c('a', v('x', 10)), c('b', v('y', 5), v('z', 5))])?.node).to.equal('b');
    expect(pickOneNode([c('a', v('x', 5), v('w', 4)), c('b', v('y', 5), v('z', 1))])?.node).to.equal('b');
    expect(pickOneNode([c('a', v('x', 5), v('w', 0)), c('b', v('y', 5))])?.node).to.equal('b');
    // Ties on all of those: the node whose top victims started latest.
    expect(
      pickOneNode([c('a', v('x', 5, '2024-01-01T00:00:00Z')), c('b', v('y', 5, '2024-06-01T00:00:00Z'))])?.node,
    ).to.equal('b');
  });
});

describe('scheduler plugin DefaultPreemption: PostFilter', () => {
  it('a pod with preemptionPolicy Never does not preempt', async () => {
    const h = harness({
      nodes: [makeNode('n', { allocatable: { cpu: '1' } })],
      pods: [boundPod('low', 'n', withRequests({ cpu: '1' }))],
    });
    const fwk = h.component.frameworks.get('default-scheduler')!;
    const r = await fwk.runPostFilter(
      new SchedulingCycleState(),
      h.info(makePod('p', { priority: 100, preemptionPolicy: 'Never', ...withRequests({ cpu: '1' }) })),
      new Map([['n', { code: Code.Unschedulable, reasons: ['Insufficient cpu'] }]]),
    );
    expect(r.status?.reasons).to.deep.equal(['preemption: not eligible due to preemptionPolicy=Never.']);
  });

  it('nodes preemption cannot help are named so in the message', async () => {
    const h = harness({ nodes: [makeNode('n', { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] })] });
    const fwk = h.component.frameworks.get('default-scheduler')!;
    const r = await fwk.runPostFilter(
      new SchedulingCycleState(),
      h.info(makePod('p', { priority: 100 })),
      new Map([['n', { code: Code.UnschedulableAndUnresolvable, reasons: ['x'] }]]),
    );
    expect(r.status?.reasons).to.deep.equal([
      'preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
    ]);
    expect(r.nominatedNodeName).to.equal('');
    expect(codesOf([r.status])).to.deep.equal([Code.Unschedulable]);
  });
});
