/**
 * The per-container shim: a small sh script, started detached (its own session) so it outlives the
 * runtime, which is the container's parent. It holds the container's FIFOs open (read-write, so
 * neither side blocks or gets EPIPE while no runtime is reading), waits for the container and
 * records how it ended in `exit`. The container's first process (a subshell of the shim) sets up
 * before exec'ing the command: it joins its cgroups, sets the hostname, bind-mounts the volumes in
 * its private mount namespace and changes to the working directory.
 */
import { join } from 'node:path';
import type { Mount } from 'skiff/sdk/runtime';
import { type HostTools, shQuote } from './host.js';
import type { ContainerRecord } from './state.js';

export interface ShimPlan {
  record: ContainerRecord;
  dir: string;
  tools: HostTools;
  /** 'root': namespaces directly; 'user': inside a user namespace; 'none': plain processes. */
  isolation: 'root' | 'user' | 'none';
  /** The sandbox's network namespace to join (absent: the host's network). */
  netnsPath?: string;
  hostname: string;
  /** cgroup.procs files the container joins. */
  cgroupProcs: string[];
  /** cgroup.procs the shim joins (the sandbox's pids group), so a sweep finds it. */
  shimProcs?: string;
  oomControl?: string;
}

export function shimScript(plan: ShimPlan): string {
  const { dir, record } = plan;
  const q = shQuote;
  const stdinRedirect = record.stdin ? '<stdin' : '</dev/null';
  return [
    '#!/bin/sh',
    `# runtime-process shim for container ${record.id} (${record.name})`,
    `cd ${q(dir)} || exit 1`,
    plan.shimProcs ? `echo $$ > ${q(plan.shimProcs)} 2>/dev/null` : '',
    '[ -p stdout ] || exit 1',
    `exec 5<>stdout 6<>stderr${record.stdin ? ' 4<>stdin' : ''}`,
    // stdinOnce: the runtime sends USR1 when the first attach ends; closing fd 4 lets the
    // container read EOF once the runtime's writer is closed too.
    record.stdin ? `trap 'exec 4>&-' USR1` : '',
    // The first child of a shim in a new PID namespace is that namespace's init: the container.
    `${launchOf(plan)} ${stdinRedirect} >&5 2>&6 4>&- 5>&- 6>&- &`,
    'child=$!',
    'echo "$child" > launcher',
    'code=0',
    // A trapped USR1 interrupts wait: wait again until the child is really gone.
    'while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done',
    'wait "$child" 2>/dev/null; last=$?; [ "$last" = 127 ] || code=$last',
    // Builtins only from here: once the namespace's init is gone, this shell cannot fork there.
    'oom=0',
    plan.oomControl
      ? `while read -r key value; do [ "$key" = oom_kill ] && oom=$value; done < ${q(plan.oomControl)}`
      : '',
    // One short write; the runtime takes the file's mtime as finishedAt.
    `printf '%s %s\\n' "$code" "$oom" > exit`,
    '',
  ]
    .filter((line, i, all) => line !== '' || i === all.length - 1)
    .join('\n');
}

/**
 * How the runtime starts the shim: inside the sandbox's network namespace, and (unshare without
 * --fork) as the parent of a new PID, mount and UTS namespace, so the container is its child and
 * its exit status (137 after SIGKILL) reaches the shim unchanged.
 */
export function shimCommand(plan: ShimPlan, shimPath: string): string[] {
  const { tools } = plan;
  if (plan.isolation === 'none') return [tools.sh, shimPath];
  const enter = plan.netnsPath ? [tools.nsenter!, `--net=${plan.netnsPath}`, '--'] : [];
  const user = plan.isolation === 'user' ? ['--user', '--map-root-user'] : [];
  return [
    ...enter,
    tools.unshare!,
    ...user,
    '--pid',
    '--mount',
    '--uts',
    '--propagation',
    'private',
    '--',
    tools.sh,
    shimPath,
  ];
}

/** The command, under a terminal (util-linux `script` holds the pty) when the container asks for one. */
function commandOf(plan: ShimPlan): string[] {
  const { argv, tty } = plan.record;
  if (!tty) return argv;
  return [plan.tools.script!, '-q', '-e', '-f', '-c', `exec ${argv.map(shQuote).join(' ')}`, '/dev/null'];
}

/**
 * The container's first process. With namespaces it is a subshell of the shim (a fork, no second
 * `sh` to load: every exec costs on a busy host) that sets up and execs the command. Without
 * them it is `setsid sh -c`, so the container leads a session of its own.
 */
function launchOf(plan: ShimPlan): string {
  const q = shQuote;
  const command = commandOf(plan);
  if (plan.isolation === 'none') {
    return [plan.tools.setsid, plan.tools.sh, '-c', setupScript(plan), 'skiff-init', ...command].map(q).join(' ');
  }
  return `(\nset -- ${command.map(q).join(' ')}\n${setupScript(plan)}\n)`;
}

function setupScript(plan: ShimPlan): string {
  const q = shQuote;
  const { record, dir } = plan;
  const lines = [`fail() { echo "$1" > ${q(join(dir, 'start-error'))}; exit 128; }`];
  // 0 moves the writer, this process ($$ names the shim in a subshell).
  for (const file of plan.cgroupProcs) lines.push(`echo 0 > ${q(file)} || fail ${q(`cannot join cgroup ${file}`)}`);
  if (plan.isolation !== 'none') {
    // This process is PID 1 of the new namespace: give it its own /proc.
    lines.push(`${plan.tools.mount} -t proc proc /proc || fail 'cannot mount /proc'`);
    lines.push(`echo ${q(plan.hostname)} > /proc/sys/kernel/hostname`);
    for (const m of record.mounts) lines.push(mountLine(plan.tools.mount!, m));
  }
  lines.push(`cd ${q(record.workingDir)} || fail ${q(`cannot change to working directory "${record.workingDir}"`)}`);
  if (!record.env.some((e) => e.name === 'PWD')) lines.push('unset PWD OLDPWD');
  // sh starts a background job with SIGINT and SIGQUIT ignored: the command gets every signal at
  // its default, as other container runtimes give it (Python's KeyboardInterrupt needs SIGINT).
  const exec = plan.tools.env ? `exec ${q(plan.tools.env)} --default-signal "$@"` : 'exec "$@"';
  lines.push(`: > ${q(join(dir, 'started'))}`, exec);
  return lines.join('\n');
}

function mountLine(mount: string, m: Mount): string {
  const q = shQuote;
  const options = m.readonly ? ' -o ro' : '';
  const what = `cannot mount "${m.hostPath}" at "${m.containerPath}"`;
  return `${mount} --bind${options} ${q(m.hostPath)} ${q(m.containerPath)} || fail ${q(what)}`;
}
