/**
 * What the runtime holds for a pod (its sandboxes and containers, found by the labels the kubelet
 * put on them, so a restarted kubelet finds them again), the spec hash each container carries, and
 * small readers of the pod spec.
 */
import { createHash } from 'node:crypto';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from 'skiff/sdk';
import { type ContainerRuntime, type ContainerStatus, KUBE_LABELS, type PodSandboxStatus } from 'skiff/sdk/runtime';

/** Annotations on containers (upstream's kubelet/kuberuntime labels.go names). */
export const CONTAINER_ANNOTATIONS = Object.freeze({
  hash: 'io.kubernetes.container.hash',
  restartCount: 'io.kubernetes.container.restartCount',
  gracePeriod: 'io.kubernetes.pod.terminationGracePeriod',
});

export const asPod = (obj: KubeObject | Pod): Pod => obj as unknown as Pod;
export const asObject = (pod: Pod): KubeObject => pod as unknown as KubeObject;

export interface PodRuntimeState {
  /** Newest first. */
  sandboxes: PodSandboxStatus[];
  /** Newest first (by attempt, then creation). */
  containers: ContainerStatus[];
}

export async function podRuntimeState(runtime: ContainerRuntime, uid: string): Promise<PodRuntimeState> {
  const labels = { [KUBE_LABELS.podUid]: uid };
  const [sandboxes, containers] = await Promise.all([
    runtime.listPodSandboxes({ labels }),
    runtime.listContainers({ labels }),
  ]);
  sandboxes.sort(
    (a, b) => b.createdAt.localeCompare(a.createdAt) || (b.metadata.attempt ?? 0) - (a.metadata.attempt ?? 0),
  );
  containers.sort((a, b) => b.attempt - a.attempt || b.createdAt.localeCompare(a.createdAt));
  return { sandboxes, containers };
}

/** The newest instance of a container, and the one before it (status.lastState). */
export function instancesOf(
  state: PodRuntimeState,
  name: string,
): { current?: ContainerStatus; previous?: ContainerStatus } {
  const all = state.containers.filter((c) => c.name === name);
  return { current: all[0], previous: all[1] };
}

/** The ready sandbox the pod's containers run in, if it has one. */
export function readySandbox(state: PodRuntimeState): PodSandboxStatus | undefined {
  const newest = state.sandboxes[0];
  return newest?.state === 'ready' ? newest : undefined;
}

/**
 * The container's spec hash (the seed's step 7: "compute a hash for each container"); a running
 * container whose hash differs from its spec's is restarted. Keys are sorted so the same spec
 * always hashes the same; resources are left out, as upstream leaves them out since in-place resize.
 */
export function containerHash(container: Container): string {
  const known = frozenHashes.get(container);
  if (known) return known;
  const { resources: _, ...rest } = container;
  const hash = createHash('sha256').update(stableJson(rest)).digest('hex').slice(0, 16);
  // Every sync of a pod hashes its containers again; a frozen one (an informer's copy) cannot change.
  if (Object.isFrozen(container)) frozenHashes.set(container, hash);
  return hash;
}

const frozenHashes = new WeakMap<Container, string>();

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const podKey = (pod: Pod) => `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
export const podUid = (pod: Pod) => pod.metadata?.uid ?? '';
/** Upstream's format.Pod: name_namespace(uid). */
export const podDescription = (pod: Pod) =>
  `${pod.metadata?.name}_${pod.metadata?.namespace ?? 'default'}(${pod.metadata?.uid})`;

export function restartPolicy(pod: Pod): 'Always' | 'OnFailure' | 'Never' {
  const policy = pod.spec?.restartPolicy;
  return policy === 'OnFailure' || policy === 'Never' ? policy : 'Always';
}

export const initContainers = (pod: Pod): Container[] => pod.spec?.initContainers ?? [];
export const appContainers = (pod: Pod): Container[] => pod.spec?.containers ?? [];

export function isTerminalPhase(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}

/** The grace period a pod is stopped with: the deletion's, else the spec's, else 30 s. */
export function gracePeriodOf(pod: Pod): number {
  const deletion = pod.metadata?.deletionGracePeriodSeconds;
  if (typeof deletion === 'number') return deletion;
  const spec = pod.spec?.terminationGracePeriodSeconds;
  return typeof spec === 'number' && spec >= 0 ? spec : 30;
}

/** Why a container waits (status.containerStatuses[].state.waiting). */
export interface Waiting {
  reason: string;
  message?: string;
  /** When the failure behind it happened, and its own text (an image pull's, for the back-off). */
  since?: number;
  detail?: string;
}

/** What syncs learned that the runtime cannot tell; one per pod, kept by its worker. */
export interface PodMemo {
  /** By container name: why it is not running now (ErrImagePull, CrashLoopBackOff, ...). */
  waiting: Map<string, Waiting>;
  /** The volumes' host directories, once mounted; or why they could not be (FailedMount). */
  volumes?: Map<string, string>;
  mountError?: string;
  /** Set once the pod's sandbox has been stopped because the pod is done. */
  finished?: boolean;
  /** The status generated last (a static pod's previous status: it has no API copy of its own). */
  lastStatus?: import('kubernetes-types/core/v1.js').PodStatus;
  /** When the kubelet first took the pod (status.startTime). */
  startTime?: string;
}

export const newMemo = (): PodMemo => ({ waiting: new Map() });
