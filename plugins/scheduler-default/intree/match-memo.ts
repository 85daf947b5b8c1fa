/**
 * One scheduling cycle's answers to inter-pod affinity's question, "does this term select that
 * pod?", asked of every pod with affinity on every node. The answer depends only on the term and
 * the pod's namespace and labels, so pods of one template (one matchKey) share it, and so do the
 * terms they carry (interned: one object). Upstream answers each pod anew, across 16 workers.
 */
import { type AffinityTerm, type PodInformation, termMatches } from '../model/pod-info.js';
import type { Labels } from '../model/selectors.js';

/** A fixed test of pods, answered once per distinct namespace and labels. */
export class PodMatchMemo {
  private readonly answers = new Map<string, boolean>();
  constructor(private readonly test: (pod: PodInformation) => boolean) {}

  matches(pod: PodInformation): boolean {
    let answer = this.answers.get(pod.matchKey);
    if (answer === undefined) {
      answer = this.test(pod);
      this.answers.set(pod.matchKey, answer);
    }
    return answer;
  }
}

/** Whether terms select one fixed pod, answered once per distinct term. */
export class TermMatchMemo {
  private readonly answers = new Map<AffinityTerm, boolean>();
  constructor(
    private readonly pod: PodInformation,
    private readonly nsLabels?: Labels,
  ) {}

  selects(term: AffinityTerm): boolean {
    let answer = this.answers.get(term);
    if (answer === undefined) {
      answer = termMatches(term, this.pod, this.nsLabels);
      this.answers.set(term, answer);
    }
    return answer;
  }
}

const identities = new WeakMap<object, number>();
let lastIdentity = 0;

/**
 * A number per object, for keys made of interned things (terms, a namespace's labels): equal
 * numbers, the same object. Undefined is 0.
 */
export function identityOf(o: object | undefined): number {
  if (!o) return 0;
  let id = identities.get(o);
  if (id === undefined) {
    id = ++lastIdentity;
    identities.set(o, id);
  }
  return id;
}
