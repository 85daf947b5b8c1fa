/**
 * Re-reading the policy file when it changes (upstream reads it once). A new file is applied whole
 * or not at all: when any line is unusable the previous policy stays in force, and that is logged
 * (with the file, every bad line and the fix) and reported by `assertCurrent` until a good file
 * replaces it.
 *
 * Changes are found by comparing the file's stat with the one taken just before the policy in
 * force was read, every reloadIntervalMs. (fs.watchFile compares with a first stat of its own,
 * taken on the thread pool some time after it starts: a file changed in between, say right after
 * start-up on a busy machine, was never reloaded.)
 */
import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { SkiffError } from 'skiff/sdk';
import { loadPolicy } from './load.js';
import type { ParsedPolicy } from './parse.js';

export interface PolicyWatcher {
  /** Throws while the file on disk is not the policy in force. */
  assertCurrent(): void;
  close(): void;
}

/**
 * What identifies a version of the file: inode (a rename over it), size, and change and modify
 * times in nanoseconds. Take it before reading the file, so a change during the read shows next time.
 */
export function fileVersion(path: string): string {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    return `missing: ${(err as NodeJS.ErrnoException).code}`;
  }
}

export function watchPolicy(
  path: string,
  loadedVersion: string,
  options: { strict: boolean; reloadIntervalMs: number },
  logger: Logger,
  apply: (policy: ParsedPolicy) => void,
): PolicyWatcher {
  let inForceSince = new Date().toISOString();
  let stale: SkiffError | undefined;
  let seen = loadedVersion;
  const reload = () => {
    let next: ParsedPolicy;
    try {
      next = loadPolicy(path, options.strict);
    } catch (err) {
      if (!(err instanceof SkiffError)) throw err;
      stale = err;
      logger.error(
        { file: path, code: err.code, fix: err.fix, inForceSince },
        `ABAC policy NOT reloaded: still enforcing the policy loaded at ${inForceSince}. ${err.message}. Fix: ${err.fix}`,
      );
      return;
    }
    if (stale) logger.info({ file: path }, 'ABAC policy file fixed: its new contents are in force');
    stale = undefined;
    inForceSince = new Date().toISOString();
    apply(next);
  };
  const timer = setInterval(() => {
    const version = fileVersion(path);
    if (version === seen) return;
    seen = version;
    reload();
  }, options.reloadIntervalMs);
  timer.unref();
  return {
    assertCurrent() {
      if (stale) throw new Error(`${stale.message} (the policy loaded at ${inForceSince} is in force)`);
    },
    close: () => clearInterval(timer),
  };
}
