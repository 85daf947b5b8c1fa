/**
 * The pod's status as upstream's kubelet generates it (generateAPIPodStatus): the phase from the
 * containers' states and the restart policy (getPhase), the conditions PodReadyToStartContainers,
 * Initialized, ContainersReady, Ready and PodScheduled with upstream's reasons and messages, the
 * pod and host IPs, and a status per (init) container: state, lastState, ready, started,
 * restartCount, image, imageID, containerID.
 */
import type {
  ContainerStatus as ApiContainerStatus,
  Container,
  ContainerState,
  Pod,
  PodCondition,
  PodStatus,
} from 'kubernetes-types/core/v1.js';
import type { ContainerStatus } from 'skiff/sdk/runtime';
import {
  appContainers,
  initContainers,
  instancesOf,
  type PodMemo,
  type PodRuntimeState,
  readySandbox,
  restartPolicy,
} from './pod-state.js';
import type { ProbeManager } from './probes/prober.js';

export interface StatusInputs {
  pod: Pod;
  state: PodRuntimeState;
  memo: PodMemo;
  probes: ProbeManager;
  nodeIP?: string;
  /** The kubelet stopped the pod for good (deleted): the phase is then final. */
  terminated?: boolean;
  /** The status the pod had (default: pod.status; a static pod passes its last generated one). */
  before?: PodStatus;
}

const stamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function terminatedState(c: ContainerStatus): ContainerState {
  return {
    terminated: {
      exitCode: c.exitCode ?? 0,
      reason: c.reason ?? (c.exitCode === 0 ? 'Completed' : 'Error'),
      ...(c.message ? { message: c.message } : {}),
      startedAt: c.startedAt ?? c.createdAt,
      finishedAt: c.finishedAt ?? c.createdAt,
      containerID: c.containerId,
    },
  };
}

function containerStatus(
  inputs: StatusInputs,
  spec: Container,
  isInit: boolean,
  initialized: boolean,
): ApiContainerStatus {
  const { pod, state, memo, probes } = inputs;
  const uid = pod.metadata?.uid ?? '';
  const { current, previous } = instancesOf(state, spec.name);
  const waiting = memo.waiting.get(spec.name);
  let now: ContainerState;
  let last: ContainerState = {};
  let ready = false;
  let started = false;
  if (current?.state === 'running') {
    now = { running: { startedAt: current.startedAt ?? current.createdAt } };
    if (previous?.state === 'exited') last = terminatedState(previous);
    const running = { container: spec, id: current.id, startedAt: 0 };
    started = probes.started(pod, running);
    ready = started && (probes.ready(uid, current.id) ?? true);
    if (isInit) ready = false;
  } else if (waiting && !inputs.terminated) {
    now = { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
    if (current?.state === 'exited') last = terminatedState(current);
  } else if (current?.state === 'exited') {
    now = terminatedState(current);
    if (previous?.state === 'exited') last = terminatedState(previous);
    ready = isInit && current.exitCode === 0;
  } else {
    const reason = !isInit && !initialized ? 'PodInitializing' : 'ContainerCreating';
    now = { waiting: { reason } };
  }
  return {
    name: spec.name,
    state: now,
    lastState: last,
    ready,
    restartCount: current?.attempt ?? 0,
    image: spec.image ?? '',
    imageID: current?.imageRef ?? '',
    ...(current ? { containerID: current.containerId } : {}),
    started: current?.state === 'running' ? started : false,
  };
}

/** Upstream's getPhase. */
export function podPhase(pod: Pod, init: ApiContainerStatus[], app: ApiContainerStatus[], terminal: boolean): string {
  const policy = restartPolicy(pod);
  let pendingInit = false;
  let failedInit = false;
  for (const s of init) {
    if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit = true;
    } else if (
      s.state?.waiting?.reason !== undefined &&
      s.lastState?.terminated &&
      s.lastState.terminated.exitCode !== 0
    ) {
      failedInit = true;
    } else {
      pendingInit = true;
    }
  }
  if (failedInit && policy === 'Never') return 'Failed';
  if (failedInit || pendingInit) return 'Pending';
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of app) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting && s.lastState?.terminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (terminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, reason?: string, message?: string): PodCondition {
  return { type, status: ok ? 'True' : 'False', ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

function podConditions(
  inputs: StatusInputs,
  phase: string,
  init: ApiContainerStatus[],
  app: ApiContainerStatus[],
): PodCondition[] {
  const sandboxReady = readySandbox(inputs.state) !== undefined && !inputs.memo.finished;
  const incomplete = init.filter((s) => !(s.state?.terminated?.exitCode === 0)).map((s) => s.name);
  const unready = app.filter((s) => !s.ready).map((s) => s.name);
  const completed = phase === 'Succeeded';
  const initialized = completed
    ? condition('Initialized', true, 'PodCompleted')
    : incomplete.length
      ? condition(
          'Initialized',
          false,
          'ContainersNotInitialized',
          `containers with incomplete status: [${incomplete.join(' ')}]`,
        )
      : condition('Initialized', true);
  const containersReady = completed
    ? condition('ContainersReady', false, 'PodCompleted')
    : unready.length
      ? condition(
          'ContainersReady',
          false,
          'ContainersNotReady',
          `containers with unready status: [${unready.join(' ')}]`,
        )
      : condition('ContainersReady', true);
  const ready = { ...containersReady, type: 'Ready' };
  const gates = readinessGates(inputs.pod);
  if (ready.status === 'True' && gates) Object.assign(ready, gates);
  return [
    condition('PodReadyToStartContainers', sandboxReady),
    initialized,
    ready,
    containersReady,
    condition('PodScheduled', true),
  ];
}

/** Readiness gates: conditions others set on the pod, each must be True for Ready. */
function readinessGates(pod: Pod): Partial<PodCondition> | undefined {
  const conditions = pod.status?.conditions ?? [];
  for (const gate of pod.spec?.readinessGates ?? []) {
    const found = conditions.find((c) => c.type === gate.conditionType);
    if (!found) {
      return {
        status: 'False',
        reason: 'ReadinessGatesNotReady',
        message: `corresponding condition of pod readiness gate "${gate.conditionType}" does not exist.`,
      };
    }
    if (found.status !== 'True') {
      return {
        status: 'False',
        reason: 'ReadinessGatesNotReady',
        message: `the status of pod readiness gate "${gate.conditionType}" is not "True", but ${found.status}`,
      };
    }
  }
  return undefined;
}

/** Keeps each condition's lastTransitionTime while its status stays; keeps conditions others own. */
function withTransitions(now: PodCondition[], before: PodCondition[]): PodCondition[] {
  const at = stamp();
  const ours = new Set(now.map((c) => c.type));
  const timed = now.map((c) => {
    const old = before.find((b) => b.type === c.type);
    const kept = old && old.status === c.status ? old.lastTransitionTime : undefined;
    return { ...c, lastProbeTime: null, lastTransitionTime: kept ?? at } as unknown as PodCondition;
  });
  return [...timed, ...before.filter((c) => !ours.has(c.type))];
}

export function generatePodStatus(inputs: StatusInputs): PodStatus {
  const { pod, state, nodeIP } = inputs;
  const before = inputs.before ?? pod.status ?? {};
  const inits = initContainers(pod);
  const initStatuses = inits.map((c) => containerStatus(inputs, c, true, false));
  const initialized = initStatuses.every((s) => s.state?.terminated?.exitCode === 0);
  const appStatuses = appContainers(pod).map((c) => containerStatus(inputs, c, false, initialized));
  const phase = podPhase(pod, initStatuses, appStatuses, inputs.terminated ?? false);
  const sandbox = state.sandboxes[0];
  const podIP = sandbox?.ip || before.podIP;
  inputs.memo.startTime ??= stamp();
  return {
    phase,
    conditions: withTransitions(podConditions(inputs, phase, initStatuses, appStatuses), before.conditions ?? []),
    ...(nodeIP ? { hostIP: nodeIP, hostIPs: [{ ip: nodeIP }] } : {}),
    ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    startTime: before.startTime ?? inputs.memo.startTime,
    ...(before.qosClass ? { qosClass: before.qosClass } : {}),
    ...(inits.length ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: appStatuses,
  };
}
