/**
 * exec, attach and port-forward. exec enters the container's cgroups and namespaces (nsenter) and
 * runs the command with the container's environment and working directory; a terminal comes from
 * util-linux `script`, which holds the pty master and copies it to plain pipes, and a resize sets the
 * pty's window size with `stty -F` (the kernel then sends SIGWINCH). attach joins the output the
 * runtime already reads and writes into the stdin FIFO the shim keeps open.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  type ExecResult,
  RuntimeError,
  type StreamOptions,
  type StreamSession,
  type TerminalSize,
} from 'skiff/sdk/runtime';
import { containerStatus, envObject } from './containers.js';
import { containerOf, type RuntimeContext, sandboxOf } from './context.js';
import { run, shQuote } from './host.js';
import { defaultPath, findExecutable } from './images.js';
import { openFifo } from './output.js';
import { childrenOf, processTree, waitUntil } from './proc.js';
import type { ContainerRecord } from './state.js';

function running(ctx: RuntimeContext, id: string): ContainerRecord {
  const record = containerOf(ctx, id);
  const status = containerStatus(ctx, record);
  if (status.state !== 'running' || !record.pid) {
    throw new RuntimeError(
      'NotRunning',
      `container "${record.name}" is not running (${status.state})`,
      'start it first',
    );
  }
  return record;
}

/** The argv that runs `cmd` inside the container: its cgroups, then its namespaces. */
function execArgv(ctx: RuntimeContext, record: ContainerRecord, cmd: string[], tty: boolean): string[] {
  if (!cmd.length) throw new RuntimeError('InvalidArgument', 'exec needs a command', 'give a command');
  findExecutable(cmd[0], envObject(record.env).PATH ?? defaultPath(), record.mounts);
  const { tools } = ctx;
  const joins = record.cgroup && ctx.cgroups ? ctx.cgroups.procsFiles(record.cgroup) : [];
  const joinScript = [...joins.map((f) => `echo $$ > ${shQuote(f)} 2>/dev/null`), 'exec "$@"'].join('; ');
  const enter =
    ctx.isolation === 'none'
      ? []
      : [
          tools.nsenter!,
          '-t',
          String(record.pid),
          ...(ctx.isolation === 'user' ? ['-U', '--preserve-credentials'] : []),
          '-m',
          '-p',
          '-u',
          // The pod's network namespace; without one the container already uses the host's (and
          // inside a user namespace, re-entering the host's would be refused).
          ...(ctx.sandboxes.get(record.sandboxId)?.netns ? ['-n'] : []),
          `--wdns=${record.workingDir}`,
          '--',
        ];
  const argv = [tools.sh, '-c', joinScript, 'skiff-exec', ...enter, ...cmd];
  if (!tty) return argv;
  return [tools.script!, '-q', '-e', '-f', '-c', `exec ${argv.map(shQuote).join(' ')}`, '/dev/null'];
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

/**
 * End an exec: SIGKILL what runs inside the container first, so nsenter (outside) reaps it and
 * exits; killing nsenter too would leave a zombie for the container's PID 1 to reap, which most
 * programs never do. Whatever is left a moment later is killed as well.
 */
function killExec(ctx: RuntimeContext, record: ContainerRecord, child: ChildProcess): void {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  const containerNs = pidNamespaceOf(record.pid!);
  const tree = processTree(child.pid);
  const inside = ctx.isolation === 'none' ? tree : tree.filter((pid) => pidNamespaceOf(pid) === containerNs);
  killAll(inside);
  setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) killAll(processTree(child.pid!));
  }, 1000).unref();
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

function pidNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

export async function exec(
  ctx: RuntimeContext,
  id: string,
  cmd: string[],
  options: StreamOptions,
): Promise<StreamSession> {
  const record = running(ctx, id);
  if (options.tty && !ctx.tools.script)
    throw new RuntimeError('InvalidArgument', 'tty needs util-linux "script"', 'install it');
  const argv = execArgv(ctx, record, cmd, options.tty ?? false);
  const child = spawn(argv[0], argv.slice(1), {
    env: envObject(record.env),
    cwd: ctx.isolation === 'none' ? record.workingDir : '/',
    detached: true,
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const exit = new Promise<{ exitCode: number }>((resolve, reject) => {
    child.on('error', (err) => reject(new RuntimeError('ContainerCannotRun', err.message)));
    child.on('close', (code, signal) => resolve({ exitCode: exitCodeOf(code, signal) }));
  });
  exit.catch(() => undefined);
  if (!options.stdout) child.stdout?.resume();
  if (!options.stderr || options.tty) child.stderr?.resume();
  return {
    stdin: options.stdin ? (child.stdin ?? undefined) : undefined,
    stdout: options.stdout ? (child.stdout ?? undefined) : undefined,
    stderr: options.stderr && !options.tty ? (child.stderr ?? undefined) : undefined,
    resize: (size) => {
      if (options.tty && child.pid) resizeUnder(ctx, child.pid, size);
    },
    exit,
    close: () => killExec(ctx, record, child),
  };
}

export async function execSync(
  ctx: RuntimeContext,
  id: string,
  cmd: string[],
  timeoutSeconds = 0,
): Promise<ExecResult> {
  const session = await exec(ctx, id, cmd, { stdout: true, stderr: true });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  session.stdout?.on('data', (c: Buffer) => stdout.push(c));
  session.stderr?.on('data', (c: Buffer) => stderr.push(c));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    if (timeoutSeconds > 0) {
      timer = setTimeout(() => {
        session.close();
        reject(
          new RuntimeError('DeadlineExceeded', `command timed out after ${timeoutSeconds} s`, 'raise the timeout'),
        );
      }, timeoutSeconds * 1000);
    }
  });
  try {
    const { exitCode } = await Promise.race([session.exit, timedOut]);
    return { exitCode, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** Set the window size of the terminal the first child of `pid` has (script's child, or the container's). */
function resizeUnder(ctx: RuntimeContext, pid: number, size: TerminalSize): void {
  const stty = ctx.tools.stty;
  if (!stty) return;
  let pts: string | undefined;
  const found = () => {
    const child = childrenOf(pid)[0];
    try {
      pts = child ? readlinkSync(`/proc/${child}/fd/0`) : undefined;
    } catch {}
    return pts?.startsWith('/dev/pts/') ?? false;
  };
  waitUntil(found, 2000)
    .then((ok) => {
      if (ok && pts) return run(stty, ['-F', pts, 'rows', String(size.height), 'cols', String(size.width)]);
    })
    .catch((err) => ctx.logger.debug({ err }, 'resize failed'));
}

export async function attach(ctx: RuntimeContext, id: string, options: StreamOptions): Promise<StreamSession> {
  const record = running(ctx, id);
  const output = ctx.outputs.get(id);
  if (!output) throw new RuntimeError('Unavailable', `the output of container "${record.name}" is not being read`);
  if (options.stdin && !record.stdin) {
    throw new RuntimeError(
      'InvalidArgument',
      `container "${record.name}" has no stdin`,
      'set stdin: true in the container spec',
    );
  }
  if (options.stdin && record.stdinClosed) {
    throw new RuntimeError(
      'InvalidArgument',
      `container "${record.name}" had stdinOnce and its stdin is closed`,
      'restart it',
    );
  }
  const stdout = options.stdout ? new PassThrough() : undefined;
  const stderr = options.stderr && !record.tty ? new PassThrough() : undefined;
  const unsubscribe = output.subscribe((stream, chunk) => {
    (stream === 'stderr' && !record.tty ? stderr : stdout)?.write(chunk);
  });
  const stdin: Socket | undefined = options.stdin
    ? openFifo(join(ctx.state.containerDir(id), 'stdin'), 'write')
    : undefined;
  stdin?.on('error', () => undefined);
  let finish: (exitCode: number) => void = () => undefined;
  const exit = new Promise<{ exitCode: number }>((resolve) => {
    finish = (exitCode) => resolve({ exitCode });
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    stdout?.end();
    stderr?.end();
    stdin?.destroy();
    if (options.stdin && record.stdinOnce) closeStdin(ctx, record);
    finish(containerStatus(ctx, record).exitCode ?? 0);
  };
  output.ended.then(close);
  stdin?.on('finish', () => record.stdinOnce && close());
  return { stdin, stdout, stderr, resize: (size) => record.tty && resizeUnder(ctx, record.pid!, size), exit, close };
}

/** stdinOnce: the shim drops its end on SIGUSR1, so the container reads EOF. */
function closeStdin(ctx: RuntimeContext, record: ContainerRecord): void {
  record.stdinClosed = true;
  ctx.state.saveContainer(record);
  try {
    if (record.shimPid) process.kill(record.shimPid, 'SIGUSR1');
  } catch {}
}

/** A TCP connection from the host to the pod's port (its own address, or loopback for hostNetwork pods). */
export function portForward(ctx: RuntimeContext, sandboxId: string, port: number): Promise<Socket> {
  const sandbox = sandboxOf(ctx, sandboxId);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RuntimeError('InvalidArgument', `port ${port} is not between 1 and 65535`, 'give a valid port');
  }
  if (sandbox.state !== 'ready') throw new RuntimeError('NotRunning', `pod sandbox "${sandboxId}" is not ready`);
  const host = sandbox.hostNetwork ? '127.0.0.1' : sandbox.ip;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', (err) =>
      reject(
        new RuntimeError(
          'Unavailable',
          `cannot connect to ${host}:${port} of pod sandbox "${sandboxId}": ${err.message}`,
        ),
      ),
    );
  });
}
