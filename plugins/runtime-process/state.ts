/**
 * The runtime's state under its root dir, so a new runtime on the same dir adopts what an earlier
 * one left running:
 *   sandboxes/<id>.json            one per sandbox
 *   containers/<id>/container.json the container's record (mode 0600: it holds env)
 *   containers/<id>/shim.sh        the shim that runs it; stdin, stdout, stderr FIFOs
 *   containers/<id>/started        written by the container's first process just before exec
 *   containers/<id>/exit           "<code> <finishedAt> <oom kills>", written by the shim
 *   containers/<id>/start-error    why it could not start (mount, working dir)
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyValue, LinuxResources, Mount, PodSandboxMetadata, PodSandboxState } from 'skiff/sdk/runtime';

export interface SandboxRecord {
  id: string;
  metadata: PodSandboxMetadata;
  hostname: string;
  hostNetwork: boolean;
  /** The address handed out from the node's range (podIP, or its loopback twin under host networking). */
  ip: string;
  /** Set when the address came from the node's pool (released on stop). */
  poolAddress?: string;
  /** Set when the sandbox has its own network namespace. */
  netns?: string;
  veth?: string;
  state: PodSandboxState;
  createdAt: string;
  logDirectory: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  name: string;
  attempt: number;
  image: string;
  imageRef: string;
  argv: string[];
  env: KeyValue[];
  workingDir: string;
  mounts: Mount[];
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  logPath: string;
  resources: LinuxResources;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  createdAt: string;
  /** cgroup group path below the prefix, when cgroups are used. */
  cgroup?: string;
  startedAt?: string;
  /** The shim, and its start time in clock ticks (a reused PID has another). */
  shimPid?: number;
  shimStartTicks?: number;
  /** Host PID of the container's first process. */
  pid?: number;
  /** Mount points this runtime created on the host for this container. */
  createdMountPoints: string[];
  /** stdinOnce: the first attach has ended and stdin was closed. */
  stdinClosed?: boolean;
}

export class StateDir {
  readonly sandboxes: string;
  readonly containers: string;
  constructor(readonly root: string) {
    this.sandboxes = join(root, 'sandboxes');
    this.containers = join(root, 'containers');
    mkdirSync(this.sandboxes, { recursive: true, mode: 0o700 });
    mkdirSync(this.containers, { recursive: true, mode: 0o700 });
  }

  containerDir(id: string): string {
    return join(this.containers, id);
  }

  saveSandbox(record: SandboxRecord): void {
    writeAtomic(join(this.sandboxes, `${record.id}.json`), JSON.stringify(record));
  }

  saveContainer(record: ContainerRecord): void {
    writeAtomic(join(this.containerDir(record.id), 'container.json'), JSON.stringify(record));
  }

  /**
   * The same writes off the event loop, for the paths of pods starting together: creating a file
   * can cost the kernel a millisecond (ext4 looking for a free inode), a hundred pods' worth of
   * them blocked every pod. The caller awaits it before anything else saves that record.
   */
  saveSandboxAsync(record: SandboxRecord): Promise<void> {
    return writeAtomicAsync(join(this.sandboxes, `${record.id}.json`), JSON.stringify(record));
  }

  saveContainerAsync(record: ContainerRecord): Promise<void> {
    return writeAtomicAsync(join(this.containerDir(record.id), 'container.json'), JSON.stringify(record));
  }

  removeSandbox(id: string): void {
    rmSync(join(this.sandboxes, `${id}.json`), { force: true });
  }

  removeContainer(id: string): void {
    rmSync(this.containerDir(id), { recursive: true, force: true });
  }

  loadSandboxes(): SandboxRecord[] {
    return readdirSync(this.sandboxes)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => readJson<SandboxRecord>(join(this.sandboxes, f)));
  }

  loadContainers(): ContainerRecord[] {
    return readdirSync(this.containers).flatMap((id) =>
      readJson<ContainerRecord>(join(this.containerDir(id), 'container.json')),
    );
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

async function writeAtomicAsync(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}

/** A record that cannot be read (a crash between mkdir and the first write) is skipped. */
function readJson<T>(file: string): T[] {
  try {
    return [JSON.parse(readFileSync(file, 'utf8')) as T];
  } catch {
    return [];
  }
}

/** RFC 3339 with nanoseconds, as Go's time.RFC3339Nano prints UTC (trailing zeros dropped). */
export function rfc3339Nano(epochNanos: bigint): string {
  const ms = Number(epochNanos / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const fraction = (epochNanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${fraction ? `.${fraction}` : ''}Z`;
}

const startNanos = BigInt(Date.now()) * 1_000_000n;
const startHr = process.hrtime.bigint();

/** Wall-clock now in nanoseconds (Date.now's start plus a monotonic offset, for sub-ms precision). */
export function nowNanos(): bigint {
  return startNanos + (process.hrtime.bigint() - startHr);
}

export function now(): string {
  return rfc3339Nano(nowNanos());
}
