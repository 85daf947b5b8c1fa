/**
 * Re-reading the policy file when it changes (upstream reads it once). A new file is applied whole
 * or not at all: when any line is unusable the previous policy stays in force, and that is logged
 * (with the file, every bad line and the fix) and reported by `assertCurrent` until a good file
 * replaces it.
 */
import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { SkiffError } from '../../core/errors.js';
import { loadPolicy } from './load.js';
import type { ParsedPolicy } from './parse.js';

export interface PolicyWatcher {
  /** Throws while the file on disk is not the policy in force. */
  assertCurrent(): void;
  close(): void;
}

export function watchPolicy(
  path: string,
  options: { strict: boolean; reloadIntervalMs: number },
  logger: Logger,
  apply: (policy: ParsedPolicy) => void,
): PolicyWatcher {
  let inForceSince = new Date().toISOString();
  let stale: SkiffError | undefined;
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
  watchFile(path, { interval: options.reloadIntervalMs }, reload);
  return {
    assertCurrent() {
      if (stale) throw new Error(`${stale.message} (the policy loaded at ${inForceSince} is in force)`);
    },
    close: () => unwatchFile(path, reload),
  };
}
