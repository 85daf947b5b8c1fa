/**
 * What this machine allows, found once at open, and how host tools are called. Tools are named by
 * absolute path in everything the runtime generates: a container's PATH must not decide which
 * `mount` its shim runs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError } from 'skiff/sdk/runtime';

export interface HostTools {
  sh: string;
  ip?: string;
  unshare?: string;
  nsenter?: string;
  mount?: string;
  setsid: string;
  /** `env` when it can reset signal dispositions (--default-signal, coreutils 8.31 or later). */
  env?: string;
  script?: string;
  stty?: string;
  mkfifo: string;
  date: string;
  sed: string;
  mv: string;
}

const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function which(program: string): string | undefined {
  for (const dir of [...SEARCH, ...(process.env.PATH ?? '').split(':')]) {
    if (!dir) continue;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {}
  }
  return undefined;
}

function required(program: string, pkg: string): string {
  const found = which(program);
  if (!found)
    throw new RuntimeError(
      'Unavailable',
      `runtime-process needs "${program}", which is not installed`,
      `install ${pkg}`,
    );
  return found;
}

export function findTools(): HostTools {
  return {
    sh: required('sh', 'dash'),
    ip: which('ip'),
    unshare: which('unshare'),
    nsenter: which('nsenter'),
    mount: which('mount'),
    setsid: required('setsid', 'util-linux'),
    env: envResettingSignals(),
    script: which('script'),
    stty: which('stty'),
    mkfifo: required('mkfifo', 'coreutils'),
    date: required('date', 'coreutils'),
    sed: required('sed', 'sed'),
    mv: required('mv', 'coreutils'),
  };
}

function envResettingSignals(): string | undefined {
  const found = which('env');
  return found && spawnSync(found, ['--default-signal', 'true']).status === 0 ? found : undefined;
}

/** Root may make network namespaces, links and mounts; others may at most use user namespaces. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Whether an unprivileged user may create user (and with them PID/mount) namespaces. */
export function userNamespacesAllowed(tools: HostTools): boolean {
  if (!tools.unshare) return false;
  const probe = spawnSync(tools.unshare, ['--user', '--map-root-user', '--pid', '--fork', '--mount', 'true'], {
    stdio: 'ignore',
    timeout: 5000,
  });
  return probe.status === 0;
}

/** Run a host tool; reject with its stderr. */
export function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Single-quote a word for sh. */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
