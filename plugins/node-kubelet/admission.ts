/**
 * The kubelet's own admission of a new pod (upstream's lifecycle.PredicateAdmitHandler): a node
 * takes no more than --max-pods pods, and no pod whose requests do not fit what is left of its
 * allocatable CPU and memory, or whose nodeSelector its labels do not match. A rejected pod is
 * failed with upstream's reason (OutOfpods, OutOfcpu, OutOfmemory, NodeAffinity) and message.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from 'skiff/sdk';

export interface Rejection {
  reason: string;
  message: string;
}

export interface NodeResources {
  milliCpu: number;
  memoryBytes: number;
  pods: number;
}

/** Upstream's effective request: the larger of the sum of app containers and any init container. */
function requested(pod: Pod, resource: 'cpu' | 'memory'): bigint {
  const of = (c: { resources?: { requests?: Record<string, string> } }) =>
    parseQuantity(c.resources?.requests?.[resource] ?? '0') ?? 0n;
  const app = (pod.spec?.containers ?? []).reduce((sum, c) => sum + of(c), 0n);
  return (pod.spec?.initContainers ?? []).reduce((max, c) => larger(max, of(c)), app);
}

const larger = (a: bigint, b: bigint) => (a > b ? a : b);
const milliCpu = (nano: bigint) => Number(nano / 1_000_000n);
const bytes = (nano: bigint) => Number(nano / 1_000_000_000n);

export function admitPod(
  pod: Pod,
  running: readonly Pod[],
  node: NodeResources,
  labels: Record<string, string>,
): Rejection | undefined {
  const insufficient = (resource: string, want: number, used: number, capacity: number) => ({
    reason: `OutOf${resource}`,
    message: `Node didn't have enough resource: ${resource}, requested: ${want}, used: ${used}, capacity: ${capacity}`,
  });
  if (running.length + 1 > node.pods) return insufficient('pods', 1, running.length, node.pods);
  const cpu = milliCpu(requested(pod, 'cpu'));
  const usedCpu = running.reduce((sum, p) => sum + milliCpu(requested(p, 'cpu')), 0);
  if (cpu > 0 && usedCpu + cpu > node.milliCpu) return insufficient('cpu', cpu, usedCpu, node.milliCpu);
  const memory = bytes(requested(pod, 'memory'));
  const usedMemory = running.reduce((sum, p) => sum + bytes(requested(p, 'memory')), 0);
  if (memory > 0 && usedMemory + memory > node.memoryBytes)
    return insufficient('memory', memory, usedMemory, node.memoryBytes);
  const selector = pod.spec?.nodeSelector ?? {};
  if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) {
    return {
      reason: 'NodeAffinity',
      message: "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector",
    };
  }
  return undefined;
}
