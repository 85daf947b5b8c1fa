/** Container lifecycle: create (records, FIFOs, cgroup), start (the shim), stop, remove, status. */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { type ContainerConfig, type ContainerStatus, type KeyValue, type Mount, RuntimeError } from 'skiff/sdk/runtime';
import { makeFifos } from './batch.js';
import { Cgroups } from './cgroups.js';
import { containerOf, type RuntimeContext, sandboxOf } from './context.js';
import { containerArgv, defaultPath, findExecutable } from './images.js';
import { prepareMountPoints, releaseMountPoints } from './mounts.js';
import { ContainerOutput, CriLogWriter, openFifo, removeLogs } from './output.js';
import { alive, delay, startTicks, waitUntil } from './proc.js';
import { shimCommand, shimScript } from './shim.js';
import { startShim } from './spawner.js';
import { type ContainerRecord, now, rfc3339Nano, type SandboxRecord } from './state.js';

const START_TIMEOUT_MS = 10_000;

export async function createContainer(
  ctx: RuntimeContext,
  sandboxId: string,
  config: ContainerConfig,
): Promise<string> {
  const sandbox = sandboxOf(ctx, sandboxId);
  if (sandbox.state !== 'ready')
    throw new RuntimeError('NotRunning', `pod sandbox "${sandboxId}" is not ready`, 'run a new sandbox');
  validate(ctx, sandbox, config);
  const image = ctx.images.resolve(config.image, config.command);
  const id = randomBytes(16).toString('hex');
  const attempt = config.attempt ?? 0;
  const record: ContainerRecord = {
    id,
    sandboxId,
    name: config.name,
    attempt,
    image: config.image,
    imageRef: image.imageRef,
    argv: containerArgv(image, config.command, config.args),
    env: withDefaults(config.env ?? [], sandbox, config.tty ?? false),
    workingDir: config.workingDir || '/',
    mounts: config.mounts ?? [],
    stdin: config.stdin ?? false,
    stdinOnce: config.stdinOnce ?? false,
    tty: config.tty ?? false,
    logPath: join(sandbox.logDirectory, config.logPath ?? `${config.name}/${attempt}.log`),
    resources: config.resources ?? {},
    labels: config.labels ?? {},
    annotations: config.annotations ?? {},
    createdAt: now(),
    createdMountPoints: [],
  };
  const dir = ctx.state.containerDir(id);
  try {
    // Files are made off the event loop (see StateDir.saveContainerAsync).
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const fifos = record.stdin ? ['stdout', 'stderr', 'stdin'] : ['stdout', 'stderr'];
    await makeFifos(
      ctx.tools.mkfifo,
      fifos.map((f) => join(dir, f)),
    );
    if (ctx.cgroups) {
      record.cgroup = Cgroups.group(sandboxId, id);
      await ctx.cgroups.create(record.cgroup, record.resources);
    }
    await ctx.state.saveContainerAsync(record);
  } catch (err) {
    // Nothing half-made stays behind.
    if (record.cgroup) ctx.cgroups?.remove(record.cgroup);
    ctx.state.removeContainer(id);
    throw new RuntimeError('Unavailable', `cannot create container "${config.name}": ${(err as Error).message}`);
  }
  ctx.containers.set(id, record);
  return id;
}

function validate(ctx: RuntimeContext, sandbox: SandboxRecord, config: ContainerConfig): void {
  const invalid = (message: string, fix: string) => new RuntimeError('InvalidArgument', message, fix);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(config.name ?? '')) {
    throw invalid(`container name "${config.name}" is not a DNS label`, 'use lower-case letters, digits and "-"');
  }
  for (const other of ctx.containers.values()) {
    if (other.sandboxId === sandbox.id && other.name === config.name && other.attempt === (config.attempt ?? 0)) {
      throw invalid(
        `container "${config.name}" attempt ${other.attempt} already exists in this sandbox`,
        'remove it or raise attempt',
      );
    }
  }
  for (const m of config.mounts ?? []) validateMount(ctx, m);
  for (const e of config.env ?? []) {
    if (!e.name || /[=\0]/.test(e.name) || String(e.value).includes('\0')) {
      throw invalid(`environment variable "${e.name}" is not valid`, 'names need no "=" or NUL, values no NUL');
    }
  }
  if (config.logPath && (isAbsolute(config.logPath) || config.logPath.split('/').includes('..'))) {
    throw invalid(
      `logPath "${config.logPath}" must be relative to the sandbox's log directory`,
      'give a relative path',
    );
  }
  if (config.tty && !ctx.tools.script) {
    throw invalid('tty needs util-linux "script", which is not installed', 'install util-linux (bsdutils)');
  }
}

function validateMount(ctx: RuntimeContext, m: Mount): void {
  if (!isAbsolute(m.containerPath) || !isAbsolute(m.hostPath) || m.containerPath.split('/').includes('..')) {
    throw new RuntimeError(
      'InvalidArgument',
      `mount ${m.hostPath} → ${m.containerPath} needs absolute paths without ".."`,
      'fix the mount',
    );
  }
  if (!existsSync(m.hostPath)) {
    throw new RuntimeError(
      'InvalidArgument',
      `mount source "${m.hostPath}" does not exist`,
      'prepare the volume before creating the container',
    );
  }
  if (ctx.isolation === 'none' && m.containerPath !== m.hostPath) {
    throw new RuntimeError(
      'ContainerCannotRun',
      `cannot mount "${m.hostPath}" at "${m.containerPath}": this runtime has no mount namespaces (not root, no user namespaces)`,
      'run the node as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)',
    );
  }
}

/** PATH when none is given, HOSTNAME as docker sets it, TERM for terminals. */
function withDefaults(env: KeyValue[], sandbox: SandboxRecord, tty: boolean): KeyValue[] {
  const has = (name: string) => env.some((e) => e.name === name);
  const extra: KeyValue[] = [];
  if (!has('PATH')) extra.push({ name: 'PATH', value: defaultPath() });
  if (!has('HOSTNAME')) extra.push({ name: 'HOSTNAME', value: sandbox.hostname });
  if (tty && !has('TERM')) extra.push({ name: 'TERM', value: 'xterm' });
  return [...extra, ...env];
}

export function envObject(env: KeyValue[]): Record<string, string> {
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

export async function startContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const record = containerOf(ctx, id);
  const dir = ctx.state.containerDir(id);
  if (record.shimPid || existsSync(join(dir, 'exit'))) {
    throw new RuntimeError('InvalidArgument', `container "${id}" was already started`, 'create a new container');
  }
  const sandbox = sandboxOf(ctx, record.sandboxId);
  if (sandbox.state !== 'ready')
    throw new RuntimeError('NotRunning', `pod sandbox "${sandbox.id}" is not ready`, 'run a new sandbox');
  try {
    findExecutable(record.argv[0], envObject(record.env).PATH ?? defaultPath(), record.mounts);
    if (ctx.isolation !== 'none') record.createdMountPoints = prepareMountPoints(ctx.runDir, id, record.mounts);
  } catch (err) {
    failStart(ctx, record, (err as Error).message);
    throw err instanceof RuntimeError ? err : new RuntimeError('ContainerCannotRun', (err as Error).message);
  }
  await launch(ctx, record, sandbox, dir);
}

async function launch(
  ctx: RuntimeContext,
  record: ContainerRecord,
  sandbox: SandboxRecord,
  dir: string,
): Promise<void> {
  const shimPath = join(dir, 'shim.sh');
  const plan = shimPlan(ctx, record, sandbox, dir);
  // The shim and the log made off the event loop (the log writer then opens a file that exists).
  await Promise.all([
    writeFile(shimPath, shimScript(plan), { mode: 0o700 }),
    mkdir(dirname(record.logPath), { recursive: true }).then(async () =>
      (await open(record.logPath, 'a', 0o640)).close(),
    ),
  ]);
  const output = new ContainerOutput(dir, new CriLogWriter(record.logPath, ctx.rotation));
  // Writers of our own keep the FIFOs from reading EOF until the shim holds them open.
  const holders = [openFifo(join(dir, 'stdout'), 'write'), openFifo(join(dir, 'stderr'), 'write')];
  try {
    record.shimPid = await startShim(ctx.tools, ctx.logger, shimCommand(plan, shimPath), envObject(record.env));
    record.shimStartTicks = record.shimPid ? startTicks(record.shimPid) : undefined;
    await ctx.state.saveContainerAsync(record);
    const launched = () =>
      existsSync(join(dir, 'launcher')) && (existsSync(join(dir, 'started')) || existsSync(join(dir, 'exit')));
    await waitUntil(() => launched() || !shimAlive(record), START_TIMEOUT_MS);
    if (!launched()) {
      if (record.shimPid) killQuietly(record.shimPid, 'SIGKILL');
      const message = `the shim of container "${record.name}" did not start it (namespaces or tools missing?)`;
      failStart(ctx, record, message);
      throw new RuntimeError(
        'ContainerCannotRun',
        message,
        'check that unshare, nsenter and the pod network namespace exist',
      );
    }
  } catch (err) {
    output.close();
    throw err;
  } finally {
    for (const holder of holders) holder.destroy();
  }
  ctx.outputs.set(record.id, output);
  output.ended.then(() => ctx.outputs.get(record.id) === output && ctx.outputs.delete(record.id));
  const startError = readQuietly(join(dir, 'start-error'));
  if (startError !== undefined)
    throw new RuntimeError('ContainerCannotRun', startError.trim(), 'fix the container spec');
  // Not saved again for the PID: the launcher file holds it, and adoption reads it from there.
  record.pid = containerPid(dir);
}

function shimPlan(ctx: RuntimeContext, record: ContainerRecord, sandbox: SandboxRecord, dir: string) {
  const group = record.cgroup;
  return {
    record,
    dir,
    tools: ctx.tools,
    isolation: ctx.isolation,
    netnsPath: sandbox.netns ? `/run/netns/${sandbox.netns}` : undefined,
    hostname: sandbox.hostname,
    cgroupProcs: group && ctx.cgroups ? ctx.cgroups.procsFiles(group) : [],
    shimProcs: ctx.cgroups ? join(ctx.cgroups.path('pids', sandbox.id.slice(0, 12)), 'cgroup.procs') : undefined,
    oomControl: group && ctx.cgroups ? join(ctx.cgroups.path('memory', group), 'memory.oom_control') : undefined,
  };
}

/** The container's first process: the shim's child (PID 1 of its namespace). */
export function containerPid(dir: string): number | undefined {
  return Number(readQuietly(join(dir, 'launcher'))) || undefined;
}

/** Record a start that failed before the shim ran, as the shim would have (exit 128). */
function failStart(ctx: RuntimeContext, record: ContainerRecord, message: string): void {
  const dir = ctx.state.containerDir(record.id);
  writeFileSync(join(dir, 'start-error'), `${message}\n`);
  writeFileSync(join(dir, 'exit'), '128 0\n');
}

interface ExitRecord {
  code: number;
  finishedAt: string;
  oomKills: number;
}

/** The shim's record of the end: "<code> <oom kills>", written at finishedAt (its mtime). */
function readExit(dir: string): ExitRecord | undefined {
  const file = join(dir, 'exit');
  const text = readQuietly(file);
  if (!text?.endsWith('\n')) return undefined;
  const [code, oom] = text.trim().split(' ');
  return { code: Number(code), finishedAt: mtimeOf(file) ?? now(), oomKills: Number(oom) || 0 };
}

export function readQuietly(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function mtimeOf(file: string): string | undefined {
  try {
    return rfc3339Nano(statSync(file, { bigint: true }).mtimeNs);
  } catch {
    return undefined;
  }
}

export function shimAlive(record: ContainerRecord): boolean {
  return record.shimPid !== undefined && alive(record.shimPid, record.shimStartTicks);
}

export function containerStatus(ctx: RuntimeContext, record: ContainerRecord): ContainerStatus {
  const dir = ctx.state.containerDir(record.id);
  const base: ContainerStatus = {
    id: record.id,
    containerId: `skiff-process://${record.id}`,
    podSandboxId: record.sandboxId,
    name: record.name,
    attempt: record.attempt,
    state: 'created',
    createdAt: record.createdAt,
    startedAt: mtimeOf(join(dir, 'started')),
    image: record.image,
    imageRef: record.imageRef,
    logPath: record.logPath,
    labels: record.labels,
    annotations: record.annotations,
  };
  const exit = readExit(dir);
  if (exit && !outputPending(ctx, record.id, exit)) {
    return { ...base, state: 'exited', exitCode: exit.code, finishedAt: exit.finishedAt, ...exitReason(dir, exit) };
  }
  if (exit) return { ...base, state: 'running', pid: record.pid };
  if (!record.shimPid) return base;
  if (shimAlive(record)) return { ...base, state: 'running', pid: record.pid };
  return {
    ...base,
    state: 'exited',
    exitCode: 255,
    reason: 'Error',
    message: "the container's shim was killed, so its exit code is unknown",
  };
}

/**
 * Exited is reported once the runtime has read the container's last output (so its log is complete
 * when the kubelet sees it end), or at most OUTPUT_DRAIN_MS after the exit was recorded.
 */
const OUTPUT_DRAIN_MS = 2000;
function outputPending(ctx: RuntimeContext, id: string, exit: ExitRecord): boolean {
  return ctx.outputs.has(id) && Date.parse(exit.finishedAt) + OUTPUT_DRAIN_MS > Date.now();
}

function exitReason(dir: string, exit: ExitRecord): { reason: string; message?: string } {
  const startError = readQuietly(join(dir, 'start-error'));
  if (startError !== undefined) return { reason: 'ContainerCannotRun', message: startError.trim() };
  if (exit.oomKills > 0 && exit.code !== 0) return { reason: 'OOMKilled' };
  return { reason: exit.code === 0 ? 'Completed' : 'Error' };
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {}
}

function signalContainer(ctx: RuntimeContext, record: ContainerRecord, signal: NodeJS.Signals): void {
  if (record.pid) killQuietly(ctx.isolation === 'none' ? -record.pid : record.pid, signal);
  if (signal === 'SIGKILL' && record.cgroup && ctx.cgroups) ctx.cgroups.kill(record.cgroup, signal);
}

function exited(ctx: RuntimeContext, record: ContainerRecord): boolean {
  return readExit(ctx.state.containerDir(record.id)) !== undefined || !shimAlive(record);
}

/** SIGTERM, then SIGKILL once the timeout passes (at once for 0), as CRI's StopContainer. */
export async function stopContainer(ctx: RuntimeContext, id: string, timeoutSeconds: number): Promise<void> {
  const record = containerOf(ctx, id);
  if (containerStatus(ctx, record).state !== 'running') return;
  if (timeoutSeconds > 0) {
    signalContainer(ctx, record, 'SIGTERM');
    if (await waitUntil(() => exited(ctx, record), timeoutSeconds * 1000)) return drained(ctx, id);
  }
  signalContainer(ctx, record, 'SIGKILL');
  if (await waitUntil(() => exited(ctx, record), 10_000)) return drained(ctx, id);
  if (record.shimPid) killQuietly(record.shimPid, 'SIGKILL');
  throw new RuntimeError('Unavailable', `container "${record.name}" did not exit after SIGKILL`);
}

/** Until the runtime has read the container's last output (bounded), so its status says exited. */
async function drained(ctx: RuntimeContext, id: string): Promise<void> {
  const output = ctx.outputs.get(id);
  if (output) await Promise.race([output.ended, delay(OUTPUT_DRAIN_MS)]);
}

/** Idempotent; a running container is killed first (CRI's RemoveContainer). */
export async function removeContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const record = ctx.containers.get(id);
  if (!record) return;
  await stopContainer(ctx, id, 0);
  const output = ctx.outputs.get(id);
  if (output) {
    await Promise.race([output.ended, delay(2000)]);
    output.close();
    ctx.outputs.delete(id);
  }
  if (record.cgroup && ctx.cgroups) {
    const cgroups = ctx.cgroups;
    const group = record.cgroup;
    if (!(await waitUntil(() => cgroups.remove(group), 2000))) ctx.logger.warn({ group }, 'cgroup still busy; left');
  }
  releaseMountPoints(ctx.runDir, id, record.createdMountPoints);
  removeLogs(record.logPath);
  ctx.state.removeContainer(id);
  ctx.containers.delete(id);
  ctx.cpuSamples.delete(id);
}

/** Adoption: read on from a container a previous runtime started and that still runs. */
export function reopenOutput(ctx: RuntimeContext, record: ContainerRecord): void {
  if (!shimAlive(record) || ctx.outputs.has(record.id)) return;
  try {
    const output = new ContainerOutput(
      ctx.state.containerDir(record.id),
      new CriLogWriter(record.logPath, ctx.rotation),
    );
    ctx.outputs.set(record.id, output);
    output.ended.then(() => ctx.outputs.get(record.id) === output && ctx.outputs.delete(record.id));
  } catch (err) {
    ctx.logger.warn({ err, container: record.id }, 'cannot read the output of an adopted container');
  }
}
