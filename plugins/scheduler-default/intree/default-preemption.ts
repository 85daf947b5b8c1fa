/**
 * DefaultPreemption (PostFilter): when a pod fits nowhere, find nodes where evicting pods of lower
 * priority would make room (dry runs on copies, see preemption-victims.ts), pick one, evict its
 * victims (a DisruptionTarget condition, then a delete, and a Preempted event on each), and
 * nominate the node: the pod waits in the queue for the room it made, and other pods of lower
 * priority leave that room alone. PodDisruptionBudgets are not served by Skiff yet, so no victim
 * is protected by one.
 */
import type { ApiClient } from 'skiff/sdk';
import { Code, type PostFilterResult, type Status, status } from 'skiff/sdk/scheduler';
import type { SchedulingCycleState } from '../framework/cycle-state.js';
import { Diagnosis, fitMessage } from '../framework/diagnosis.js';
import type { InternalHandle } from '../framework/handle.js';
import type { PodInformation } from '../model/pod-info.js';
import { obj } from './common.js';
import { type Candidate, pickOneNode, selectVictims } from './preemption-victims.js';
import type { Args, InTreePlugin } from './registry-types.js';

const NOT_HELPFUL = status(Code.UnschedulableAndUnresolvable, 'Preemption is not helpful for scheduling');
const NO_VICTIMS = status(Code.UnschedulableAndUnresolvable, 'No preemption victims found for incoming pod');
const PODS = { group: '', version: 'v1', resource: 'pods' };

const unschedulable = (msg: string): PostFilterResult => ({ status: status(Code.Unschedulable, `preemption: ${msg}`) });

/** Upstream's PodEligibleToPreemptOthers; a reason when the pod may not preempt. */
function ineligible(
  handle: InternalHandle,
  pod: PodInformation,
  statuses: ReadonlyMap<string, Status>,
): string | undefined {
  if (pod.spec.preemptionPolicy === 'Never') return 'not eligible due to preemptionPolicy=Never.';
  const nominated = String(obj(pod.pod.status).nominatedNodeName ?? '');
  if (!nominated) return undefined;
  // Nominated to a node that can no longer take it at all: it may preempt elsewhere.
  if (statuses.get(nominated)?.code === Code.UnschedulableAndUnresolvable) return undefined;
  const node = handle.cache.nodes.get(nominated);
  if (node?.pods.some((p) => p.terminating && p.priority < pod.priority)) {
    return 'not eligible due to a terminating pod on the nominated node.';
  }
  return undefined;
}

function numCandidates(args: Args, nodes: number): number {
  let n = Math.trunc((nodes * Number(args.minCandidateNodesPercentage)) / 100);
  n = Math.max(n, Number(args.minCandidateNodesAbsolute));
  return Math.min(n, nodes);
}

function findCandidates(
  handle: InternalHandle,
  args: Args,
  state: SchedulingCycleState,
  pod: PodInformation,
  statuses: ReadonlyMap<string, Status>,
): { candidates: Candidate[]; diagnosis: Diagnosis; numAllNodes: number } {
  const all = handle.cache.nodeList();
  const diagnosis = new Diagnosis();
  const potential = all.filter((n) => {
    const s = statuses.get(n.name);
    if (s && s.code !== Code.UnschedulableAndUnresolvable) return true;
    diagnosis.nodeToStatus.set(n.name, NOT_HELPFUL);
    return false;
  });
  const candidates: Candidate[] = [];
  const wanted = numCandidates(args, potential.length);
  const offset = Math.floor(Math.random() * potential.length);
  const fwk = handle.framework();
  for (let i = 0; i < potential.length && candidates.length < wanted; i++) {
    const node = potential[(offset + i) % potential.length]!;
    // No pod of lower priority there: nothing to try (and no copies to make).
    if (!node.pods.some((p) => p.priority < pod.priority)) {
      diagnosis.nodeToStatus.set(node.name, NO_VICTIMS);
      continue;
    }
    const { victims, status: s } = selectVictims(fwk, state.clone(), pod, node.clone());
    if (!s && victims.length > 0) candidates.push({ node: node.name, victims, pdbViolations: 0 });
    else
      diagnosis.nodeToStatus.set(
        node.name,
        s ?? status(Code.Error, `expected at least one victim pod on node "${node.name}"`),
      );
  }
  return { candidates, diagnosis, numAllNodes: all.length };
}

async function evict(handle: InternalHandle, pod: PodInformation, victim: PodInformation, node: string): Promise<void> {
  const client = handle.client;
  if (!client) return;
  // A victim held at Permit is not bound yet: rejecting it frees its room (upstream does the same).
  const waiting = handle.waitingPod(victim.uid);
  if (waiting) waiting.reject('DefaultPreemption', 'preempted');
  else await deleteVictim(client, handle, victim);
  handle.events.record(
    victim.pod,
    'Normal',
    'Preempted',
    'Preempting',
    `Preempted by pod ${pod.uid} on node ${node}`,
    pod.pod,
  );
}

/** A DisruptionTarget condition on the victim, then its deletion. */
async function deleteVictim(client: ApiClient, handle: InternalHandle, victim: PodInformation): Promise<void> {
  const condition = {
    type: 'DisruptionTarget',
    status: 'True',
    reason: 'PreemptionByScheduler',
    message: `${handle.schedulerName}: preempting to accommodate a higher priority pod`,
    lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  try {
    await client.patch(
      PODS,
      victim.namespace,
      victim.name,
      'strategic',
      { status: { conditions: [condition] } },
      { subresource: 'status' },
    );
    await client.delete(PODS, victim.namespace, victim.name, { preconditions: { uid: victim.uid } });
  } catch (err) {
    // Gone already: that is what preemption wanted.
    if ((err as { code?: number }).code !== 404) throw err;
  }
}

/** Lower-priority pods nominated to the node lose their nomination: the room is this pod's now. */
async function clearLowerNominations(handle: InternalHandle, pod: PodInformation, node: string): Promise<void> {
  for (const p of handle.nominator.onNode(node) ?? []) {
    if (p.priority >= pod.priority || p.uid === pod.uid) continue;
    handle.nominator.nominate(p, '');
    await handle.client
      ?.patch(PODS, p.namespace, p.name, 'merge', { status: { nominatedNodeName: null } }, { subresource: 'status' })
      .catch(() => undefined);
  }
}

async function postFilter(
  handle: InternalHandle,
  args: Args,
  state: SchedulingCycleState,
  pod: PodInformation,
  statuses: ReadonlyMap<string, Status>,
): Promise<PostFilterResult> {
  const why = ineligible(handle, pod, statuses);
  if (why) return unschedulable(why);
  const { candidates, diagnosis, numAllNodes } = findCandidates(handle, args, state, pod, statuses);
  const best = pickOneNode(candidates);
  if (!best) return { nominatedNodeName: '', ...unschedulable(fitMessage(numAllNodes, diagnosis)) };
  await Promise.all(best.victims.map((v) => evict(handle, pod, v, best.node)));
  await clearLowerNominations(handle, pod, best.node);
  return { nominatedNodeName: best.node };
}

export const DefaultPreemption: InTreePlugin = {
  name: 'DefaultPreemption',
  args: {
    kind: 'DefaultPreemptionArgs',
    defaults: () => ({ minCandidateNodesPercentage: 10, minCandidateNodesAbsolute: 100 }),
    validate(args) {
      const errs: string[] = [];
      const pct = Number(args.minCandidateNodesPercentage);
      const abs = Number(args.minCandidateNodesAbsolute);
      if (!(pct >= 0 && pct <= 100))
        errs.push(
          `minCandidateNodesPercentage: Invalid value: ${args.minCandidateNodesPercentage}: not in valid range [0, 100]`,
        );
      if (!(abs >= 0))
        errs.push(
          `minCandidateNodesAbsolute: Invalid value: ${args.minCandidateNodesAbsolute}: not in valid range [0, inf)`,
        );
      if (pct === 0 && abs === 0)
        errs.push(
          'minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute',
        );
      return errs;
    },
  },
  factory: (args, handle) => ({
    name: 'DefaultPreemption',
    postFilter: (state, pod, statuses) =>
      postFilter(handle, args, state as SchedulingCycleState, pod as PodInformation, statuses),
  }),
};
