/**
 * syncPod: one pass of the seed's 3.4.2 steps for a pod, in the seed's order (upstream's
 * Kubelet.SyncPod and kuberuntime's SyncPod):
 *
 *   1. the pod's data directory;
 *   2. its manifest (the caller passes the newest copy its sources hold);
 *   3. its volumes, and 4. the secrets (and ConfigMaps, tokens) they need;
 *   5. what already runs: a pod without a ready sandbox has its containers stopped; containers
 *      that must go (changed spec, failed liveness or startup probe) are stopped;
 *   6. the "pause" holder: a sandbox that owns the pod's network namespace and IP;
 *   7. each container: its spec hash against the running one's, the restart policy and back-off,
 *      the image, then create and start (init containers first, one at a time, in order).
 *
 * Stopping a pod (deleted, or done) is killPod, below.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { ContainerStatus, PodSandboxStatus } from 'skiff/sdk/runtime';
import { KUBE_LABELS } from 'skiff/sdk/runtime';
import { goDuration } from './backoff.js';
import { killContainer, startContainer } from './containers.js';
import { type KubeletContext, podDir, podLogDir } from './context.js';
import { containerFieldPath, podTarget } from './events.js';
import {
  appContainers,
  asObject,
  CONTAINER_ANNOTATIONS,
  containerHash,
  gracePeriodOf,
  initContainers,
  type PodMemo,
  type PodRuntimeState,
  podDescription,
  podRuntimeState,
  readySandbox,
  restartPolicy,
} from './pod-state.js';
import type { ProbeManager, RunningContainer } from './probes/prober.js';
import { MountError, prepareVolumes, type TokenCache } from './volumes.js';

export interface SyncTools {
  probes: ProbeManager;
  tokens: TokenCache;
  /** Asks for another sync of this pod at `when` (a back-off that ends). */
  wakeAt(when: number): void;
}

interface Kill {
  status: ContainerStatus;
  container?: Container;
  message?: string;
}

interface Actions {
  killPod: boolean;
  createSandbox: boolean;
  kill: Kill[];
  start: Container[];
}

export async function syncPod(
  ctx: KubeletContext,
  tools: SyncTools,
  pod: Pod,
  memo: PodMemo,
): Promise<PodRuntimeState> {
  const uid = pod.metadata?.uid ?? '';
  // Step 1: the pod's data directory.
  // Off the event loop: a directory can cost the kernel a millisecond, and pods start together.
  // Upstream's makePodDataDirs: the pod's directory, with volumes/ and plugins/ in it.
  await mkdir(podDir(ctx, uid), { recursive: true });
  await Promise.all(['volumes', 'plugins'].map((sub) => mkdir(join(podDir(ctx, uid), sub), { recursive: true })));
  // Step 2: the manifest is `pod`, the newest copy the sources hold.
  // Steps 3 and 4: volumes, with the secrets, ConfigMaps and tokens they need.
  try {
    memo.volumes = await prepareVolumes(ctx, pod, tools.tokens);
    memo.mountError = undefined;
  } catch (err) {
    if (!(err instanceof MountError)) throw err;
    memo.mountError = err.message;
    ctx.events.record(podTarget(asObject(pod)), 'Warning', 'FailedMount', err.message);
    return podRuntimeState(ctx.runtime, uid);
  }
  // Step 5: what runs already, and what must go.
  let state = await podRuntimeState(ctx.runtime, uid);
  const actions = computeActions(pod, state, tools.probes);
  if (actions.killPod) await killPod(ctx, pod, state, { grace: gracePeriodOf(pod) });
  for (const k of actions.kill) {
    await killContainer(ctx, pod, k.container, k.status, {
      message: k.message,
      grace: gracePeriodOf(pod),
      podIP: readySandbox(state)?.ip,
    });
  }
  if (ctx.stopping.aborted) return state;
  // Step 6: the pause holder of the pod's network.
  let sandbox = readySandbox(state);
  if (actions.createSandbox) {
    try {
      sandbox = await runSandbox(ctx, pod, state);
    } catch (err) {
      const message = `Failed to create pod sandbox: ${(err as Error).message}`;
      ctx.events.record(podTarget(asObject(pod)), 'Warning', 'FailedCreatePodSandBox', message);
      throw err;
    }
  }
  // Step 7: the containers.
  if (sandbox) {
    for (const container of actions.start) {
      if (ctx.stopping.aborted) break;
      if (!inBackOff(ctx, tools, pod, container, state, memo)) {
        const attempt = latestAttempt(state, container.name) + 1;
        await startContainer(ctx, { pod, container, sandboxId: sandbox.id, podIP: sandbox.ip, attempt, memo });
      }
    }
    state = await podRuntimeState(ctx.runtime, uid);
    tools.probes.update(pod, runningIn(pod, state, sandbox), sandbox.ip);
  }
  return state;
}

async function runSandbox(ctx: KubeletContext, pod: Pod, state: PodRuntimeState): Promise<PodSandboxStatus> {
  const meta = pod.metadata ?? {};
  const id = await ctx.runtime.runPodSandbox({
    metadata: {
      name: meta.name ?? '',
      namespace: meta.namespace ?? 'default',
      uid: meta.uid ?? '',
      attempt: state.sandboxes.length ? (state.sandboxes[0]!.metadata.attempt ?? 0) + 1 : 0,
    },
    hostname: pod.spec?.hostname ?? meta.name,
    logDirectory: podLogDir(ctx, meta.namespace ?? 'default', meta.name ?? '', meta.uid ?? ''),
    hostNetwork: pod.spec?.hostNetwork ?? false,
    labels: {
      [KUBE_LABELS.podName]: meta.name ?? '',
      [KUBE_LABELS.podNamespace]: meta.namespace ?? 'default',
      [KUBE_LABELS.podUid]: meta.uid ?? '',
    },
  });
  return ctx.runtime.podSandboxStatus(id);
}

/** A sandbox the pod no longer uses (or the pod itself when it stops): its containers stopped, its network released. */
export async function killPod(
  ctx: KubeletContext,
  pod: Pod,
  state: PodRuntimeState,
  options: { grace: number; override?: number },
): Promise<void> {
  const specs = new Map([...initContainers(pod), ...appContainers(pod)].map((c) => [c.name, c]));
  const ip = readySandbox(state)?.ip;
  const running = state.containers.filter((c) => c.state === 'running' || c.state === 'created');
  await Promise.all(running.map((c) => killContainer(ctx, pod, specs.get(c.name), c, { ...options, podIP: ip })));
  for (const s of state.sandboxes) if (s.state === 'ready') await ctx.runtime.stopPodSandbox(s.id);
}

function latestAttempt(state: PodRuntimeState, name: string): number {
  const latest = state.containers.find((c) => c.name === name);
  return latest ? latest.attempt : -1;
}

/** The newest instance of a container in the given sandbox. */
function inSandbox(state: PodRuntimeState, sandboxId: string, name: string): ContainerStatus | undefined {
  return state.containers.find((c) => c.podSandboxId === sandboxId && c.name === name);
}

function shouldRestart(policy: string, status: ContainerStatus): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return status.exitCode !== 0;
  return false;
}

/** Init containers in order: the next to start, one that failed, or done. */
function initProgress(pod: Pod, state: PodRuntimeState, sandboxId: string) {
  for (const c of initContainers(pod)) {
    const status = inSandbox(state, sandboxId, c.name);
    if (!status) return { next: c, done: false };
    if (status.state === 'running' || status.state === 'created') return { done: false };
    if (status.exitCode !== 0) return { failed: c, failedStatus: status, done: false };
  }
  return { done: true };
}

/** Upstream's computePodActions, for one sandbox per pod. */
function computeActions(pod: Pod, state: PodRuntimeState, probes: ProbeManager): Actions {
  const policy = restartPolicy(pod);
  const sandbox = readySandbox(state);
  const anyRunning = state.containers.some((c) => c.state === 'running');
  if (!sandbox) {
    // A Never pod whose sandbox died after it ran is not started again.
    if (policy === 'Never' && state.sandboxes.length > 0 && state.containers.length > 0) {
      return { killPod: anyRunning, createSandbox: false, kill: [], start: [] };
    }
    const inits = initContainers(pod);
    const start = inits.length
      ? [inits[0]!]
      : appContainers(pod).filter((c) => wantsStartAfterSandbox(policy, state, c));
    return { killPod: anyRunning, createSandbox: true, kill: [], start };
  }
  const actions: Actions = { killPod: false, createSandbox: false, kill: [], start: [] };
  const init = initProgress(pod, state, sandbox.id);
  if (!init.done) {
    if (init.next) actions.start.push(init.next);
    else if (init.failed && policy !== 'Never') actions.start.push(init.failed);
    return actions;
  }
  for (const c of appContainers(pod)) {
    const current = inSandbox(state, sandbox.id, c.name);
    if (!current) {
      if (wantsStartAfterSandbox(policy, state, c)) actions.start.push(c);
      continue;
    }
    if (current.state !== 'running') {
      if (current.state === 'created' || shouldRestart(policy, current)) actions.start.push(c);
      continue;
    }
    const kill = reasonToKill(pod, c, current, probes);
    if (!kill) continue;
    actions.kill.push({ status: current, container: c, message: kill });
    if (policy !== 'Never') actions.start.push(c);
  }
  return actions;
}

/** A container with no instance in the current sandbox: start it unless it already finished for good. */
function wantsStartAfterSandbox(policy: string, state: PodRuntimeState, c: Container): boolean {
  const latest = state.containers.find((s) => s.name === c.name);
  if (!latest) return true;
  if (policy === 'Never') return false;
  return policy === 'Always' || latest.exitCode !== 0;
}

function reasonToKill(pod: Pod, c: Container, current: ContainerStatus, probes: ProbeManager): string | undefined {
  if (current.annotations[CONTAINER_ANNOTATIONS.hash] !== containerHash(c)) {
    return `Container ${c.name} definition changed, will be restarted`;
  }
  const failed = probes.failed(pod.metadata?.uid ?? '', current.id);
  if (failed) return `Container ${c.name} failed ${failed.type} probe, will be restarted`;
  return undefined;
}

/** CrashLoopBackOff: a container that exited waits 10 s, 20 s, ... before it starts again. */
function inBackOff(
  ctx: KubeletContext,
  tools: SyncTools,
  pod: Pod,
  c: Container,
  state: PodRuntimeState,
  memo: PodMemo,
): boolean {
  const previous = state.containers.find((s) => s.name === c.name);
  if (previous?.state !== 'exited' || !previous.finishedAt) return false;
  const key = `${pod.metadata?.uid}/${c.name}/${containerHash(c)}`;
  const finished = Date.parse(previous.finishedAt);
  if (ctx.restartBackOff.isInBackOffSince(key, finished)) {
    const wait = goDuration(ctx.restartBackOff.get(key));
    const description = podDescription(pod);
    memo.waiting.set(c.name, {
      reason: 'CrashLoopBackOff',
      message: `back-off ${wait} restarting failed container=${c.name} pod=${description}`,
    });
    const target = podTarget(asObject(pod), containerFieldPath(asObject(pod), c.name));
    ctx.events.record(
      target,
      'Warning',
      'BackOff',
      `Back-off restarting failed container ${c.name} in pod ${description}`,
    );
    tools.wakeAt(ctx.restartBackOff.until(key, finished));
    return true;
  }
  ctx.restartBackOff.next(key, finished);
  return false;
}

/** The pod's running containers in its sandbox, for the probe workers. */
function runningIn(pod: Pod, state: PodRuntimeState, sandbox: PodSandboxStatus): RunningContainer[] {
  const specs = [...initContainers(pod), ...appContainers(pod)];
  return state.containers
    .filter((c) => c.podSandboxId === sandbox.id && c.state === 'running')
    .flatMap((c) => {
      const container = specs.find((s) => s.name === c.name);
      return container ? [{ container, id: c.id, startedAt: Date.parse(c.startedAt ?? c.createdAt) }] : [];
    });
}
