/**
 * Temporary directories for tests, removed when the whole run ends (the root hook below, which
 * mocha runs after the last test whether tests passed or failed). A test still removes what it
 * can as soon as it is done; this catches the rest: a server that failed to start, a data dir
 * kept for a restart, a directory a test only read from.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

/** A new directory under the system temp dir, named `<prefix>XXXXXX`. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

/** Mocha root hooks (.mocharc.json "require"). */
export const mochaHooks = {
  afterAll(): void {
    removeTempDirs();
  },
};
