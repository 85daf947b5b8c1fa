/**
 * Why a pod fits no node, and the message users read in FailedScheduling events and the
 * PodScheduled condition: upstream's framework.Diagnosis and FitError, word for word:
 * "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {a: b}.
 * preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
 */
import { Code, type Status } from 'skiff/sdk/scheduler';

/** Each node's rejection; nodes never looked at share `absent` (a PreFilter verdict). */
export class NodeToStatus {
  readonly explicit = new Map<string, Status>();
  absent?: Status;

  set(node: string, s: Status): void {
    this.explicit.set(node, s);
  }

  get(node: string): Status | undefined {
    return this.explicit.get(node) ?? this.absent;
  }

  get size(): number {
    return this.explicit.size;
  }
}

export class Diagnosis {
  readonly nodeToStatus = new NodeToStatus();
  /** Plugins that rejected the pod: the cluster events they registered may make it schedulable. */
  readonly unschedulablePlugins = new Set<string>();
  /** Plugins that answered Pending (waiting on something other than the cluster). */
  readonly pendingPlugins = new Set<string>();
  preFilterMsg = '';
  postFilterMsg = '';

  addPluginStatus(s: Status): void {
    if (!s.plugin) return;
    if (s.code === Code.Pending) this.pendingPlugins.add(s.plugin);
    else this.unschedulablePlugins.add(s.plugin);
  }
}

/** Upstream's FitError: the pod fits none of `numAllNodes` nodes; its message is built when read. */
export class FitError extends Error {
  constructor(
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {
    super();
    // Error's constructor gives every instance its own `message`: replace it with the live one
    // (PostFilter adds its sentence to the diagnosis after the error was made).
    Object.defineProperty(this, 'message', { get: () => fitMessage(this.numAllNodes, this.diagnosis) });
  }
}

/** Reason histogram, "2 Insufficient cpu, 3 node(s) had ...", sorted as upstream sorts the strings. */
function histogram(numAllNodes: number, statuses: NodeToStatus): string {
  const counts = new Map<string, number>();
  for (const s of statuses.explicit.values()) {
    for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  const absent = numAllNodes - statuses.size;
  if (absent > 0 && statuses.absent) {
    for (const r of statuses.absent.reasons) counts.set(r, (counts.get(r) ?? 0) + absent);
  }
  return [...counts]
    .map(([reason, n]) => `${n} ${reason}`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .join(', ');
}

export function fitMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) msg += ` ${d.preFilterMsg}.`;
  else {
    const reasons = histogram(numAllNodes, d.nodeToStatus);
    if (reasons) msg += ` ${reasons}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}.`;
  return msg;
}

/** Upstream's Status.Message: the reasons joined by ", ". */
export const messageOf = (s: Status | undefined): string => (s ? s.reasons.join(', ') : '');
