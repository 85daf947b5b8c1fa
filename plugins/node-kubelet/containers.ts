/**
 * Starting and stopping one container (the seed's step 7, "pull the image, run the container"), as
 * upstream's kuberuntime startContainer and killContainer: image → environment → create → start →
 * postStart hook, each failure with upstream's waiting reason, message and events; and preStop →
 * SIGTERM → SIGKILL after the grace period.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from 'skiff/sdk';
import {
  type ContainerStatus,
  cpuQuotaFromMillis,
  cpuSharesFromMillis,
  KUBE_LABELS,
  type LinuxResources,
} from 'skiff/sdk/runtime';
import type { KubeletContext } from './context.js';
import { withDnsMount } from './dns-config.js';
import { ConfigError, containerEnv } from './env.js';
import { containerFieldPath, podTarget } from './events.js';
import { runHook } from './hooks.js';
import { asObject, CONTAINER_ANNOTATIONS, containerHash, gracePeriodOf, type PodMemo } from './pod-state.js';
import { mountsFor } from './volumes.js';

/** Upstream's minimum stop window after preStop, so containers are not SIGKILLed at once. */
const MINIMUM_GRACE_SECONDS = 2;

export interface StartRequest {
  pod: Pod;
  container: Container;
  sandboxId: string;
  podIP: string;
  attempt: number;
  memo: PodMemo;
}

function event(
  ctx: KubeletContext,
  pod: Pod,
  container: string,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
) {
  ctx.events.record(podTarget(asObject(pod), containerFieldPath(asObject(pod), container)), type, reason, message);
}

function milli(quantity: string | undefined): number {
  const nano = quantity === undefined ? undefined : parseQuantity(quantity);
  return nano === undefined ? 0 : Number(nano / 1_000_000n);
}

/** The container's limits as cgroup settings (upstream's generateLinuxContainerResources). */
export function linuxResources(container: Container): LinuxResources {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const out: LinuxResources = {};
  const memory = limits.memory === undefined ? undefined : parseQuantity(limits.memory);
  if (memory) out.memoryLimitInBytes = Number(memory / 1_000_000_000n);
  const cpuRequest = milli(requests.cpu ?? limits.cpu);
  out.cpuShares = cpuSharesFromMillis(cpuRequest);
  const cpuLimit = milli(limits.cpu);
  if (cpuLimit > 0) Object.assign(out, cpuQuotaFromMillis(cpuLimit));
  return out;
}

/** The image, as PullImage: ErrImagePull, then ImagePullBackOff while the pull back-off lasts. */
async function pullImage(ctx: KubeletContext, req: StartRequest): Promise<boolean> {
  const { pod, container, memo } = req;
  const image = container.image ?? '';
  const key = `${pod.metadata?.uid}/${image}`;
  const previous = memo.waiting.get(container.name);
  const pulling = previous?.reason === 'ErrImagePull' || previous?.reason === 'ImagePullBackOff';
  if (pulling && ctx.pullBackOff.isInBackOffSince(key, previous.since ?? 0)) {
    event(ctx, pod, container.name, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
    event(ctx, pod, container.name, 'Warning', 'Failed', 'Error: ImagePullBackOff');
    const message = `Back-off pulling image "${image}": ErrImagePull: ${previous.detail}`;
    memo.waiting.set(container.name, { ...previous, reason: 'ImagePullBackOff', message });
    return false;
  }
  try {
    await ctx.runtime.resolveImage(image, container.command);
  } catch (err) {
    const message = (err as Error).message;
    const now = Date.now();
    ctx.pullBackOff.next(key, now);
    event(ctx, pod, container.name, 'Warning', 'Failed', `Failed to pull image "${image}": ${message}`);
    event(ctx, pod, container.name, 'Warning', 'Failed', 'Error: ErrImagePull');
    memo.waiting.set(container.name, { reason: 'ErrImagePull', message, since: now, detail: message });
    return false;
  }
  event(ctx, pod, container.name, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
  return true;
}

/** Starts a container; false when it could not (the memo says why). */
export async function startContainer(ctx: KubeletContext, req: StartRequest): Promise<boolean> {
  const { pod, container, memo } = req;
  if (!(await pullImage(ctx, req))) return false;
  let env: Awaited<ReturnType<typeof containerEnv>>;
  try {
    env = await containerEnv(ctx, pod, container, req.podIP);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    memo.waiting.set(container.name, { reason: 'CreateContainerConfigError', message: err.message });
    event(ctx, pod, container.name, 'Warning', 'Failed', `Error: ${err.message}`);
    return false;
  }
  let id: string;
  try {
    id = await ctx.runtime.createContainer(req.sandboxId, {
      name: container.name,
      attempt: req.attempt,
      image: container.image ?? '',
      command: env.command,
      args: env.args,
      env: env.env,
      workingDir: container.workingDir,
      mounts: await withDnsMount(ctx, pod, mountsFor(container, memo.volumes ?? new Map())),
      stdin: container.stdin,
      stdinOnce: container.stdinOnce,
      tty: container.tty,
      logPath: `${container.name}/${req.attempt}.log`,
      resources: linuxResources(container),
      labels: {
        [KUBE_LABELS.podName]: pod.metadata?.name ?? '',
        [KUBE_LABELS.podNamespace]: pod.metadata?.namespace ?? 'default',
        [KUBE_LABELS.podUid]: pod.metadata?.uid ?? '',
        [KUBE_LABELS.containerName]: container.name,
      },
      annotations: {
        [CONTAINER_ANNOTATIONS.hash]: containerHash(container),
        [CONTAINER_ANNOTATIONS.restartCount]: String(req.attempt),
        [CONTAINER_ANNOTATIONS.gracePeriod]: String(gracePeriodOf(pod)),
      },
    });
  } catch (err) {
    const message = (err as Error).message;
    memo.waiting.set(container.name, { reason: 'CreateContainerError', message });
    event(ctx, pod, container.name, 'Warning', 'Failed', `Error: ${message}`);
    return false;
  }
  event(ctx, pod, container.name, 'Normal', 'Created', `Created container: ${container.name}`);
  memo.waiting.delete(container.name);
  try {
    await ctx.runtime.startContainer(id);
  } catch (err) {
    // The runtime reports it exited (ContainerCannotRun, 128): its status says the rest.
    event(
      ctx,
      pod,
      container.name,
      'Warning',
      'Failed',
      `Error: failed to start container "${container.name}": ${(err as Error).message}`,
    );
    return false;
  }
  event(ctx, pod, container.name, 'Normal', 'Started', `Started container ${container.name}`);
  const postStart = container.lifecycle?.postStart;
  if (postStart) {
    const failure = await runHook(ctx, pod, container, id, postStart, req.podIP, gracePeriodOf(pod) || 30);
    if (failure) {
      event(ctx, pod, container.name, 'Warning', 'FailedPostStartHook', failure);
      const status = await ctx.runtime.containerStatus(id);
      await killContainer(ctx, pod, container, status, { message: 'FailedPostStartHook', grace: gracePeriodOf(pod) });
      memo.waiting.set(container.name, { reason: 'PostStartHookError', message: failure });
      return false;
    }
  }
  return true;
}

export interface KillOptions {
  /** The Killing event's message (default: upstream's "Stopping container <name>"). */
  message?: string;
  /** Seconds before SIGKILL (preStop included). */
  grace: number;
  /** A cap that overrides the grace period and the minimum (the node is shutting down). */
  override?: number;
  podIP?: string;
}

/** preStop, then SIGTERM, then SIGKILL once the grace period is over. */
export async function killContainer(
  ctx: KubeletContext,
  pod: Pod,
  container: Container | undefined,
  status: ContainerStatus,
  options: KillOptions,
): Promise<void> {
  if (status.state !== 'running' && status.state !== 'created') return;
  const name = status.name;
  event(ctx, pod, name, 'Normal', 'Killing', options.message ?? `Stopping container ${name}`);
  let grace = Math.max(1, options.grace);
  const preStop = container?.lifecycle?.preStop;
  if (preStop && status.state === 'running' && options.override === undefined) {
    const started = Date.now();
    const failure = await runHook(ctx, pod, container!, status.id, preStop, options.podIP ?? '', grace);
    if (failure) event(ctx, pod, name, 'Warning', 'FailedPreStopHook', failure);
    grace -= Math.floor((Date.now() - started) / 1000);
  }
  grace = Math.max(MINIMUM_GRACE_SECONDS, grace);
  if (options.override !== undefined) grace = options.override;
  await ctx.runtime.stopContainer(status.id, grace);
}
