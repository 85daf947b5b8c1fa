/**
 * Mount points. Containers see the host's file system, so a mountPath that does not exist on the
 * host must be created there (an empty directory or file; the mount itself stays inside the
 * container's private mount namespace). Such paths are reference-counted host-wide with marker
 * files (`<runDir>/mountpoints/<path>/<container id>`), because removing a directory that is a
 * mount point in another namespace would detach that mount: the last container using a created
 * path removes it.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Mount } from 'skiff/sdk/runtime';

function markerDir(runDir: string, path: string): string {
  return join(runDir, 'mountpoints', encodeURIComponent(path));
}

/** Create what is missing; return every runtime-made path this container now holds a reference on. */
export function prepareMountPoints(runDir: string, containerId: string, mounts: Mount[]): string[] {
  const held = new Set<string>();
  for (const m of mounts) {
    const isFile = statSync(m.hostPath).isFile();
    const created: string[] = [];
    for (let dir = isFile ? dirname(m.containerPath) : m.containerPath; !existsSync(dir); dir = dirname(dir)) {
      created.unshift(dir);
    }
    for (const dir of created) mkdirSync(dir);
    if (isFile && !existsSync(m.containerPath)) {
      writeFileSync(m.containerPath, '', { flag: 'wx' });
      created.push(m.containerPath);
    }
    for (const path of created) writeMarker(runDir, path, containerId);
    // Paths another container made (still marked) are held too, so they outlive neither.
    for (let path = m.containerPath; path !== dirname(path); path = dirname(path)) {
      if (existsSync(markerDir(runDir, path))) {
        writeMarker(runDir, path, containerId);
        held.add(path);
      }
    }
  }
  return [...held].sort((a, b) => a.length - b.length);
}

function writeMarker(runDir: string, path: string, containerId: string): void {
  mkdirSync(markerDir(runDir, path), { recursive: true });
  writeFileSync(join(markerDir(runDir, path), containerId), '');
}

/** Drop this container's references; remove the paths nobody holds any more (deepest first). */
export function releaseMountPoints(runDir: string, containerId: string, paths: string[]): void {
  for (const path of [...paths].sort((a, b) => b.length - a.length)) {
    const markers = markerDir(runDir, path);
    rmSync(join(markers, containerId), { force: true });
    if (readdirQuiet(markers).length > 0) continue;
    removeEmpty(path);
    rmSync(markers, { recursive: true, force: true });
  }
}

/** Remove every path a runtime of this runDir created (a sweep: its containers are gone). */
export function releaseAllMountPoints(runDir: string): void {
  const paths = readdirQuiet(join(runDir, 'mountpoints')).map(decodeURIComponent);
  for (const path of paths.sort((a, b) => b.length - a.length)) removeEmpty(path);
  rmSync(join(runDir, 'mountpoints'), { recursive: true, force: true });
}

function removeEmpty(path: string): void {
  try {
    if (statSync(path).isDirectory()) rmdirSync(path);
    else if (statSync(path).size === 0) rmSync(path);
  } catch {
    // Not empty, or already gone: leave it.
  }
}

function readdirQuiet(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
