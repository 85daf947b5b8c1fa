/**
 * The scheduling queue, after upstream's scheduling_queue_test.go: priority order in activeQ,
 * backoff of 1 s doubling to 10 s, unschedulable pods moved back only by a cluster event one of
 * their rejecting plugins registered (or after 5 minutes), a pod that failed while an event came
 * going to backoff instead, and PreEnqueue gates. Time is a fake clock.
 */
import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import { PodInformation } from '../../../plugins/scheduler-default/model/pod-info.js';
import type { Registrations } from '../../../plugins/scheduler-default/queue/events.js';
import { nodeUpdateActions } from '../../../plugins/scheduler-default/queue/events.js';
import { type QueuedPodInfo, SchedulingQueue } from '../../../plugins/scheduler-default/queue/scheduling-queue.js';
import { makeNode, makePod } from './harness.js';

const registrations: Registrations = new Map([
  [
    'NodeResourcesFit',
    [
      { resource: 'Pod', actions: ['Delete'] },
      { resource: 'Node', actions: ['Add', 'UpdateNodeAllocatable'] },
    ],
  ],
  ['TaintToleration', [{ resource: 'Node', actions: ['Add', 'UpdateNodeTaint'] }]],
]);

function queue(now: { t: number }, gated = new Set<string>()) {
  return new SchedulingQueue({
    less: (a, b) =>
      a.info.priority > b.info.priority || (a.info.priority === b.info.priority && a.timestamp < b.timestamp),
    preEnqueue: (info) => (gated.has(info.name) ? { plugin: 'SchedulingGates' } : undefined),
    registrations,
    initialBackoffMs: 1000,
    maxBackoffMs: 10_000,
    maxUnschedulableMs: 5 * 60_000,
    now: () => now.t,
  });
}

const info = (name: string, priority = 0) => new PodInformation(makePod(name, { priority }));

async function fail(q: SchedulingQueue, plugins: string[] = []): Promise<QueuedPodInfo> {
  const p = (await q.pop())!;
  p.unschedulablePlugins = new Set(plugins);
  return p;
}

describe('scheduler queue', () => {
  it('pops by priority, then by arrival', async () => {
    const now = { t: 1000 };
    const q = queue(now);
    q.add(info('low-early', 1));
    now.t++;
    q.add(info('high', 10));
    now.t++;
    q.add(info('low-late', 1));
    const order = [];
    for (let i = 0; i < 3; i++) order.push((await q.pop())!.info.name);
    expect(order).to.deep.equal(['high', 'low-early', 'low-late']);
    q.close();
  });

  it('backoff: 1 s after the first failure, doubling per attempt, at most 10 s', async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add(info('p'));
    const expiries: number[] = [];
    for (let attempt = 1; attempt <= 6; attempt++) {
      const p = (await q.pop())!;
      expect(p.attempts).to.equal(attempt);
      q.requeueFailed(p, false); // no rejecting plugin (an error): straight to backoff
      expect(q.whereIs(p.info.uid)).to.equal('backoff');
      expiries.push(q.backoffDuration(p));
      now.t += q.backoffDuration(p) - 1;
      q.flushBackoffCompleted();
      expect(q.whereIs(p.info.uid), 'still backing off a moment before expiry').to.equal('backoff');
      now.t += 1;
      q.flushBackoffCompleted();
      expect(q.whereIs(p.info.uid)).to.equal('active');
    }
    expect(expiries).to.deep.equal([1000, 2000, 4000, 8000, 10_000, 10_000]);
    q.close();
  });

  it('an unschedulable pod waits for an event its plugins registered, then backs off or goes active', async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add(info('needs-cpu'));
    const p = await fail(q, ['NodeResourcesFit']);
    q.requeueFailed(p, false);
    // The attempt overlapped no event: parked.
    expect(q.whereIs(p.info.uid)).to.equal('unschedulable');
    q.onEvent({ resource: 'Node', actions: ['UpdateNodeTaint'] });
    expect(q.whereIs(p.info.uid), 'a taint change cannot free CPU').to.equal('unschedulable');
    q.onEvent({ resource: 'Node', actions: ['Add'] });
    expect(q.whereIs(p.info.uid), 'still in its 1 s backoff').to.equal('backoff');
    now.t += 1000;
    q.flushBackoffCompleted();
    expect(q.whereIs(p.info.uid)).to.equal('active');
    q.close();
  });

  it('a pod that failed while an event its plugins care about came is not parked: it may fit now', async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add(info('p'));
    const p = await fail(q, ['TaintToleration']);
    q.onEvent({ resource: 'Node', actions: ['UpdateNodeLabel', 'UpdateNodeTaint'] });
    q.requeueFailed(p, false);
    expect(q.whereIs(p.info.uid)).to.equal('backoff');
    q.close();
  });

  it('an event during the attempt that none of its rejecting plugins registered leaves it parked', async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add(info('p'));
    // TaintToleration waits for nodes (added, taints changed), not for pods going away.
    const p = await fail(q, ['TaintToleration']);
    q.onEvent({ resource: 'Pod', actions: ['Delete'] });
    q.onEvent({ resource: 'Node', actions: ['UpdateNodeLabel'] });
    q.requeueFailed(p, false);
    expect(q.whereIs(p.info.uid)).to.equal('unschedulable');
    q.close();
  });

  it('unschedulable pods are retried after 5 minutes at the latest', async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add(info('p'));
    const p = await fail(q, ['TaintToleration']);
    q.requeueFailed(p, false);
    now.t += 5 * 60_000 - 1;
    q.flushUnschedulableLeftover();
    expect(q.whereIs(p.info.uid)).to.equal('unschedulable');
    now.t += 1;
    q.flushUnschedulableLeftover();
    expect(q.whereIs(p.info.uid)).to.equal('active');
    q.close();
  });

  it('a gated pod (PreEnqueue) stays out of activeQ until the pod itself changes', async () => {
    const now = { t: 0 };
    const gated = new Set(['g']);
    const q = queue(now, gated);
    const g = info('g');
    q.add(g);
    expect(q.whereIs(g.uid)).to.equal('gated');
    expect(q.pending()).to.deep.equal({ active: 0, backoff: 0, unschedulable: 0, gated: 1 });
    q.onEvent({ resource: 'Node', actions: ['Add'] });
    expect(q.whereIs(g.uid)).to.equal('gated');
    gated.delete('g');
    q.update(new PodInformation({ ...g.pod, spec: { ...g.spec, schedulingGates: [] } }));
    expect(q.whereIs(g.uid)).to.equal('active');
    q.close();
  });

  it("a parked pod stays parked when only its status changes (the scheduler's own condition)", async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add(info('p'));
    const p = await fail(q, ['NodeResourcesFit']);
    q.requeueFailed(p, false);
    const withCondition = {
      ...p.info.pod,
      metadata: { ...p.info.pod.metadata, resourceVersion: '7' },
      status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
    };
    q.update(new PodInformation(withCondition));
    expect(q.whereIs(p.info.uid)).to.equal('unschedulable');
    const relabelled = { ...withCondition, metadata: { ...withCondition.metadata, labels: { tier: 'web' } } };
    now.t += 60_000;
    q.update(new PodInformation(relabelled));
    expect(q.whereIs(p.info.uid)).to.equal('active');
    q.close();
  });

  it('a deleted pod leaves every queue; pop waits and is released by close', async () => {
    const now = { t: 0 };
    const q = queue(now);
    const p = info('p');
    q.add(p);
    q.delete(p.uid);
    expect(q.whereIs(p.uid)).to.equal(undefined);
    const waiting = q.pop();
    q.close();
    expect(await waiting).to.equal(undefined);
  });

  it('classifies node updates by what changed', () => {
    const before = makeNode('n', { allocatable: { cpu: '1' }, labels: { a: 'b' } });
    const after = {
      ...makeNode('n', { allocatable: { cpu: '2' }, labels: { a: 'c' }, taints: [{ key: 'k', effect: 'NoSchedule' }] }),
    } as KubeObject;
    expect(nodeUpdateActions(before, after)).to.deep.equal([
      'UpdateNodeAllocatable',
      'UpdateNodeLabel',
      'UpdateNodeTaint',
    ]);
    expect(nodeUpdateActions(before, before)).to.deep.equal([]);
  });
});
