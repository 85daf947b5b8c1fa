/**
 * Preemption's dry run on one node (upstream's SelectVictimsOnNode): take every lower-priority pod
 * off a copy of the node; if the preemptor then fits, give back as many of them as still leave it
 * fitting, most important first. Those not given back are the victims. And the choice between
 * candidate nodes (pickOneNodeForPreemption): fewest PDB violations, lowest highest-priority
 * victim, smallest priority sum, fewest victims, latest-started victims, first.
 */
import { Code, type Status, status } from 'skiff/sdk/scheduler';
import type { SchedulingCycleState } from '../framework/cycle-state.js';
import type { Framework } from '../framework/framework.js';
import type { NodeInformation } from '../model/node-info.js';
import type { PodInformation } from '../model/pod-info.js';
import { obj } from './common.js';

export interface Candidate {
  node: string;
  /** Most important first. */
  victims: PodInformation[];
  pdbViolations: number;
}

/** Upstream's GetPodStartTime: status.startTime, or now for pods that have not started. */
export function startTime(p: PodInformation, now = Date.now()): number {
  const t = obj(p.pod.status).startTime;
  const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN;
  return Number.isNaN(ms) ? now : ms;
}

/** Upstream's MoreImportantPod: higher priority, then the one that started first. */
export function moreImportant(a: PodInformation, b: PodInformation, now = Date.now()): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return startTime(a, now) < startTime(b, now);
}

export function selectVictims(
  fwk: Framework,
  state: SchedulingCycleState,
  pod: PodInformation,
  node: NodeInformation,
): { victims: PodInformation[]; status?: Status } {
  const remove = (p: PodInformation) => {
    node.removePod(p.uid);
    return fwk.runRemovePod(state, pod, p, node);
  };
  const potential = node.pods.filter((p) => p.priority < pod.priority);
  for (const p of potential) {
    const s = remove(p);
    if (s) return { victims: [], status: s };
  }
  if (potential.length === 0) {
    return {
      victims: [],
      status: status(Code.UnschedulableAndUnresolvable, 'No preemption victims found for incoming pod'),
    };
  }
  const fits = fwk.runFilterWithNominatedPods(state, pod, node);
  if (fits) return { victims: [], status: fits };
  const now = Date.now();
  potential.sort((a, b) => (moreImportant(a, b, now) ? -1 : moreImportant(b, a, now) ? 1 : 0));
  const victims: PodInformation[] = [];
  for (const p of potential) {
    // Give the pod back; if the preemptor no longer fits, it stays a victim.
    node.addPod(p);
    const added = fwk.runAddPod(state, pod, p, node);
    if (added) return { victims: [], status: added };
    if (fwk.runFilterWithNominatedPods(state, pod, node)) {
      const s = remove(p);
      if (s) return { victims: [], status: s };
      victims.push(p);
    }
  }
  return { victims };
}

type ScoreFn = (c: Candidate) => number;

/** The earliest start among the victims of the highest priority (they come first). */
function earliestTopStart(c: Candidate, now: number): number {
  const top = c.victims[0]!.priority;
  let earliest = Number.POSITIVE_INFINITY;
  for (const v of c.victims) if (v.priority === top) earliest = Math.min(earliest, startTime(v, now));
  return earliest;
}

export function pickOneNode(candidates: readonly Candidate[]): Candidate | undefined {
  if (candidates.length === 0) return undefined;
  const now = Date.now();
  const OFFSET = 2 ** 31;
  const scores: ScoreFn[] = [
    (c) => -c.pdbViolations,
    (c) => -c.victims[0]!.priority,
    (c) => -c.victims.reduce((s, v) => s + v.priority + OFFSET, 0),
    (c) => -c.victims.length,
    (c) => earliestTopStart(c, now),
  ];
  let remaining = [...candidates];
  for (const f of scores) {
    let best = Number.NEGATIVE_INFINITY;
    let selected: Candidate[] = [];
    for (const c of remaining) {
      const s = f(c);
      if (s > best) {
        best = s;
        selected = [];
      }
      if (s === best) selected.push(c);
    }
    if (selected.length === 1) return selected[0];
    remaining = selected;
  }
  return remaining[0];
}
