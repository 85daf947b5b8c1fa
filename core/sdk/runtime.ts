/**
 * The container runtime contract (`skiff/sdk/runtime`): what the kubelet drives, CRI-shaped and
 * small. Method names follow CRI's RuntimeService (RunPodSandbox → runPodSandbox, ExecSync →
 * execSync, ...) so a third party can put a CRI socket behind it: `resolveImage` stands for the
 * ImageService's PullImage, and the streaming calls hand back Node streams where CRI hands back a
 * URL of its streaming server.
 *
 * A pod sandbox is the seed's "pause" container: one per pod, it owns the pod's network and IP;
 * containers are created inside one. Runtimes are plugins that provide a `RuntimeProvider` under
 * `runtimeKey(name)`; the kubelet opens one runtime per node it runs.
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import { SkiffError } from '../errors.js';
import { type ServiceKey, serviceKey } from '../plugins/services.js';

/** The service key of a runtime kind: `runtimeKey('process')` is provided by plugin runtime-process. */
export function runtimeKey(name: string): ServiceKey<RuntimeProvider> {
  return serviceKey<RuntimeProvider>(`container-runtime:${name}`, `the container runtime "${name}"`);
}

export interface RuntimeProvider {
  /** The kind: 'process', 'simulated', ... (the kubelet's --runtime value). */
  readonly name: string;
  /** One runtime per node. Opening an existing rootDir adopts what still runs there. */
  open(options: RuntimeOptions): Promise<ContainerRuntime>;
  /**
   * Remove everything this runtime kind made on the host (processes, namespaces, links, routes,
   * cgroups), whether or not a runtime is open: for `--cleanup` after a crash. Optional.
   */
  sweep?(options?: { rootDirs?: string[] }): Promise<void>;
}

/** Minimal logger (pino's child loggers fit). */
export interface RuntimeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RuntimeOptions {
  /** The node this runtime serves (names, labels). */
  nodeName: string;
  /** Where the runtime keeps its state (one per node; reopening it adopts what it holds). */
  rootDir: string;
  /** The node's pod CIDR (node.spec.podCIDR); may also come later through updateRuntimeConfig. */
  podCIDR?: string;
  /** Rotate a container's log when it reaches this size (the kubelet's --container-log-max-size). */
  containerLogMaxSize?: number;
  /** Keep at most this many log files per container (--container-log-max-files). */
  containerLogMaxFiles?: number;
  logger?: RuntimeLogger;
}

/** Why a runtime call failed; the kubelet maps these to upstream's waiting/terminated reasons. */
export type RuntimeErrorReason =
  | 'NotFound'
  | 'ImageNotFound'
  | 'InvalidArgument'
  | 'ContainerCannotRun'
  | 'NotRunning'
  | 'NetworkNotReady'
  | 'DeadlineExceeded'
  | 'Unavailable';

export class RuntimeError extends SkiffError {
  constructor(
    readonly reason: RuntimeErrorReason,
    message: string,
    fix = 'see the runtime plugin README',
  ) {
    super(`SKIFF_RUNTIME_${reason.replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c).toUpperCase()}`, message, fix);
  }
}

export function isRuntimeError(err: unknown, reason?: RuntimeErrorReason): err is RuntimeError {
  return err instanceof RuntimeError && (reason === undefined || err.reason === reason);
}

export interface RuntimeStatus {
  /** RuntimeReady and NetworkReady, as CRI's Status. */
  runtimeReady: boolean;
  networkReady: boolean;
  /** 'pod' = each sandbox has its own network namespace and IP; 'host' = pods share the host network. */
  networkMode: 'pod' | 'host';
  /** Whether containers get their own PID and mount namespaces. */
  namespaces: boolean;
  /** Whether memory/CPU limits are enforced (cgroups writable). */
  cgroups: boolean;
  /** Reasons for any degraded mode, said once at open. */
  warnings: string[];
  /** The address pods reach this node at (its InternalIP, hostNetwork pods' IP), once it has a pod CIDR. */
  nodeAddress?: string;
  /** The range every node's pod CIDR must lie in, when the runtime has one (a kubelet with no podCIDR picks inside it). */
  clusterCIDR?: string;
}

/** A resolved image: what runs when a container names it (ImageService.PullImage's answer). */
export interface ImageInfo {
  /** The image as the pod names it. */
  image: string;
  /** A stable reference for status.imageID. */
  imageRef: string;
  /** The image's ENTRYPOINT and CMD (command replaces entrypoint, args replace cmd, as upstream). */
  entrypoint: string[];
  cmd: string[];
}

export interface PodSandboxMetadata {
  name: string;
  namespace: string;
  uid: string;
  attempt?: number;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  /** Directory container log paths are relative to (CRI's log_directory); default: in rootDir. */
  logDirectory?: string;
  /** Share the host's network: no namespace, the node's address. */
  hostNetwork?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export type PodSandboxState = 'ready' | 'notready';

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: string;
  /** The pod IP (status.podIP); the node's address for hostNetwork sandboxes. */
  ip: string;
  hostNetwork: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A host path (prepared by the kubelet) made visible at a path inside the container. */
export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
}

/** CRI's LinuxContainerResources (see cpuSharesFromMillis/cpuQuotaFromMillis). */
export interface LinuxResources {
  memoryLimitInBytes?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
}

export interface KeyValue {
  name: string;
  value: string;
}

export interface ContainerConfig {
  name: string;
  /** How many times the kubelet created this container before (restartCount). */
  attempt?: number;
  image: string;
  command?: string[];
  args?: string[];
  /** In order; the kubelet has already expanded $(VAR) references. */
  env?: KeyValue[];
  workingDir?: string;
  mounts?: Mount[];
  stdin?: boolean;
  /** Close stdin after the first attach session ends. */
  stdinOnce?: boolean;
  tty?: boolean;
  /** Relative to the sandbox's logDirectory (CRI's log_path); default `<name>/<attempt>.log`. */
  logPath?: string;
  resources?: LinuxResources;
  /** The kubelet's own bookkeeping (e.g. its spec hash); returned unchanged in status. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

/** Everything the kubelet needs for a containerStatuses entry. */
export interface ContainerStatus {
  id: string;
  /** For status.containerStatuses[].containerID: `<type>://<id>`, e.g. `skiff-process://…` (upstream: `containerd://…`). */
  containerId: string;
  podSandboxId: string;
  name: string;
  attempt: number;
  state: ContainerState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** Host PID of the container's main process while running. */
  pid?: number;
  /** Completed, Error, OOMKilled, ContainerCannotRun, ... (set once exited). */
  reason?: string;
  message?: string;
  image: string;
  imageRef: string;
  /** Absolute path of the current log file (CRI log format). */
  logPath: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerFilter {
  podSandboxId?: string;
  state?: ContainerState;
  labels?: Record<string, string>;
}

export interface PodSandboxFilter {
  state?: PodSandboxState;
  labels?: Record<string, string>;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface StreamOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** A terminal: stderr is merged into stdout, resize works. */
  tty?: boolean;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** A running exec or attach: its streams (those asked for), resize, and how it ended. */
export interface StreamSession {
  stdin?: Writable;
  stdout?: Readable;
  stderr?: Readable;
  resize(size: TerminalSize): void;
  /** Exec: the command's exit code. Attach: resolves when the container exits or close() is called. */
  exit: Promise<{ exitCode: number }>;
  /** End the session (an exec's process is killed; an attached container keeps running). */
  close(): void;
}

export interface CpuUsage {
  timestamp: number;
  /** Cumulative CPU time, nanoseconds. */
  usageCoreNanoSeconds: number;
  /** Average usage since the previous sample, in nanocores (1e9 = one core); absent on the first. */
  usageNanoCores?: number;
}

export interface MemoryUsage {
  timestamp: number;
  usageBytes: number;
  /** usage minus inactive file pages (what upstream's eviction and `kubectl top` use). */
  workingSetBytes: number;
  rssBytes: number;
  /** The limit the kernel enforces, if any. */
  limitBytes?: number;
}

export interface NetworkUsage {
  timestamp: number;
  interfaceName: string;
  rxBytes: number;
  txBytes: number;
}

export interface ContainerStats {
  id: string;
  name: string;
  cpu: CpuUsage;
  memory: MemoryUsage;
  /** Bytes of this container's log files. */
  logsUsedBytes: number;
  /** Bytes of what the runtime writes for this container besides logs (its state dir). */
  writableUsedBytes: number;
  processCount: number;
}

export interface PodSandboxStats {
  id: string;
  cpu: CpuUsage;
  memory: MemoryUsage;
  /** Absent for hostNetwork sandboxes and under host networking. */
  network?: NetworkUsage;
  processCount: number;
  containers: ContainerStats[];
}

export interface ContainerRuntime {
  /** 'process', 'simulated', ... (the kubelet's --runtime value). */
  readonly name: string;
  status(): Promise<RuntimeStatus>;
  /** Give or change the node's pod CIDR (CRI UpdateRuntimeConfig). */
  updateRuntimeConfig(config: { podCIDR: string }): Promise<void>;
  /**
   * PullImage: what runs for an image. A runtime may accept an image it does not know when the
   * container gives a command (runtime-process runs host programs); otherwise it throws
   * RuntimeError ImageNotFound, which the kubelet reports as ErrImagePull, then ImagePullBackOff.
   */
  resolveImage(image: string, command?: string[]): Promise<ImageInfo>;

  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /** Stops its containers and releases its network; idempotent. */
  stopPodSandbox(id: string): Promise<void>;
  /** Stops and removes it and its containers; idempotent. */
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): Promise<PodSandboxStatus>;
  listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandboxStatus[]>;

  createContainer(podSandboxId: string, config: ContainerConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after timeoutSeconds; resolves once it has exited. Idempotent. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): Promise<ContainerStatus>;
  listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]>;

  execSync(id: string, cmd: string[], timeoutSeconds?: number): Promise<ExecResult>;
  exec(id: string, cmd: string[], options: StreamOptions): Promise<StreamSession>;
  attach(id: string, options: StreamOptions): Promise<StreamSession>;
  /** A byte stream to a port of the pod's network. */
  portForward(podSandboxId: string, port: number): Promise<Duplex>;

  containerStats(id: string): Promise<ContainerStats>;
  podSandboxStats(id: string): Promise<PodSandboxStats>;

  /**
   * Only runtimes that simulate containers (runtime-simulated, scripted by annotations): the
   * outcome of a container's probe, answered instead of running it (there is nothing to reach).
   */
  simulateProbe?(id: string, kind: 'liveness' | 'readiness' | 'startup'): boolean;

  /**
   * Release the runtime. `stopAll`: also stop and remove every sandbox and container and whatever
   * host state they needed (the node is going away). Without it (a kubelet restart or crash),
   * containers keep running and a runtime opened later on the same rootDir adopts them.
   */
  close(options?: { stopAll?: boolean }): Promise<void>;
}

/** Labels upstream's kubelet puts on sandboxes and containers (kubelet/types/labels.go). */
export const KUBE_LABELS = Object.freeze({
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  podUid: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
});

/** Upstream's MilliCPUToShares: 1 CPU = 1024 shares, at least 2. */
export function cpuSharesFromMillis(milliCpu: number): number {
  if (milliCpu <= 0) return 2;
  return Math.max(2, Math.floor((milliCpu * 1024) / 1000));
}

/** Upstream's MilliCPUToQuota with the default 100 ms period: no limit gives quota 0 (not set). */
export function cpuQuotaFromMillis(milliCpu: number, periodUs = 100_000): { cpuQuota: number; cpuPeriod: number } {
  if (milliCpu <= 0) return { cpuQuota: 0, cpuPeriod: periodUs };
  return { cpuQuota: Math.max(1000, Math.floor((milliCpu * periodUs) / 1000)), cpuPeriod: periodUs };
}

/** Whether an object's labels hold every pair of a filter's labels. */
export function matchesLabels(labels: Record<string, string>, wanted: Record<string, string> | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([k, v]) => labels[k] === v);
}
