/**
 * Images without images: a table maps an image name to what runs on this machine. Resolution
 * follows upstream's ENTRYPOINT/CMD rules (a container's command replaces the entrypoint and drops
 * the image's CMD; its args replace CMD), then finds the program on the host.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ImageInfo, type Mount, RuntimeError } from 'skiff/sdk/runtime';
import type { ImageEntry } from './config.js';

const SHELL = { entrypoint: [], cmd: ['/bin/sh'] };
const STATIC_WEB = fileURLToPath(new URL('./images/static-web.mjs', import.meta.url));

/** What this machine can run for common images; busybox only when it is installed. */
export function builtinImages(): Record<string, ImageEntry> {
  const table: Record<string, ImageEntry> = {
    node: { entrypoint: [], cmd: ['node'] },
    python: { entrypoint: [], cmd: ['python3'] },
    python3: { entrypoint: [], cmd: ['python3'] },
    debian: SHELL,
    ubuntu: SHELL,
    alpine: SHELL,
    fedora: SHELL,
    centos: SHELL,
    bash: { entrypoint: [], cmd: ['bash'] },
    pause: { entrypoint: [], cmd: ['sleep', 'infinity'] },
    // No nginx here: a small static web server on :80 serving /usr/share/nginx/html (or nginx's
    // welcome page), so the book's `kubectl run nginx --image=nginx` examples answer HTTP.
    nginx: { entrypoint: [process.execPath, STATIC_WEB], cmd: [] },
  };
  const busybox = findOnPath('busybox', defaultPath());
  if (busybox) table.busybox = { entrypoint: [], cmd: ['sh'], applets: busybox };
  return table;
}

/** PATH for containers whose env sets none: the usual directories plus where this node binary lives. */
export function defaultPath(): string {
  const dirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  const nodeDir = dirname(process.execPath);
  return (dirs.includes(nodeDir) ? dirs : [...dirs, nodeDir]).join(':');
}

/** `registry.k8s.io/e2e/busybox:1.36@sha256:..` → { name: 'busybox', tag: '1.36' } */
export function parseImage(image: string): { name: string; tag: string } {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const hasTag = colon > slash;
  const path = hasTag ? withoutDigest.slice(0, colon) : withoutDigest;
  return { name: path.slice(path.lastIndexOf('/') + 1), tag: hasTag ? withoutDigest.slice(colon + 1) : 'latest' };
}

export class ImageTable {
  private readonly table: Record<string, ImageEntry>;
  constructor(overrides: Record<string, ImageEntry>) {
    this.table = { ...builtinImages(), ...overrides };
  }

  /** The table's entry for an image, by full reference, then name:tag, then name. */
  entry(image: string): ImageEntry | undefined {
    const { name, tag } = parseImage(image);
    return this.table[image] ?? this.table[`${name}:${tag}`] ?? this.table[name];
  }

  /** ImageNotFound when the table does not know the image and no command says what to run. */
  resolve(image: string, command?: string[]): ImageInfo & { applets?: string } {
    if (!image.trim()) throw new RuntimeError('InvalidArgument', 'the container names no image', 'set image');
    const entry = this.entry(image);
    if (!entry && !command?.length) {
      throw new RuntimeError(
        'ImageNotFound',
        `image "${image}" is not in runtime-process's image table and the container has no command`,
        `give the container a command (it runs on the host), or add "${parseImage(image).name}" to runtime-process.images`,
      );
    }
    const resolved = entry ?? { entrypoint: [], cmd: [] };
    const digest = createHash('sha256').update(JSON.stringify(resolved)).digest('hex');
    return {
      image,
      imageRef: `${parseImage(image).name}@sha256:${digest}`,
      entrypoint: resolved.entrypoint,
      cmd: resolved.cmd,
      applets: resolved.applets,
    };
  }
}

/** The argv a container runs (upstream's rules), with a multi-call binary's applet made explicit. */
export function containerArgv(
  image: ImageInfo & { applets?: string },
  command: string[] | undefined,
  args: string[] | undefined,
): string[] {
  const argv = command?.length ? [...command, ...(args ?? [])] : [...image.entrypoint, ...(args ?? image.cmd)];
  if (!argv.length) {
    throw new RuntimeError(
      'ContainerCannotRun',
      `image "${image.image}" has no entrypoint and the container no command`,
      'give the container a command',
    );
  }
  return image.applets ? [image.applets, basename(argv[0]), ...argv.slice(1)] : argv;
}

/**
 * Where the program runs from, as the container will see it: a path as given (seen through the
 * container's mounts), else the first match on the container's PATH. Throws ContainerCannotRun as
 * runc's "executable file not found in $PATH".
 */
export function findExecutable(program: string, path: string, mounts: Mount[]): string {
  const direct = program.includes('/');
  const found = direct
    ? isExecutable(hostPathOf(program, mounts))
      ? program
      : undefined
    : findOnPath(program, path, mounts);
  if (found) return found;
  throw new RuntimeError(
    'ContainerCannotRun',
    `exec: "${program}": ${direct ? 'no such executable file' : 'executable file not found in $PATH'}`,
    'install the program on the node, mount it into the container, or change the command',
  );
}

function findOnPath(program: string, path: string, mounts: Mount[] = []): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = posix.join(dir, program);
    if (isExecutable(hostPathOf(candidate, mounts))) return candidate;
  }
  return undefined;
}

/** A container path → the host path it shows (the deepest mount containing it wins). */
export function hostPathOf(containerPath: string, mounts: Mount[]): string {
  let best: Mount | undefined;
  for (const m of mounts) {
    const inside =
      containerPath === m.containerPath || containerPath.startsWith(`${m.containerPath.replace(/\/$/, '')}/`);
    if (inside && (!best || m.containerPath.length > best.containerPath.length)) best = m;
  }
  return best ? join(best.hostPath, containerPath.slice(best.containerPath.length)) : containerPath;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
