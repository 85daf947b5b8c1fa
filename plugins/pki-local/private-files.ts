/** Files only their owner may read: private keys and kubeconfigs with embedded credentials. */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SkiffError } from 'skiff/sdk';

/**
 * Writes a file only its owner may read, as upstream's keyutil and clientcmd do. A new file is
 * created 0600 beside the target and renamed over it, so the secret is never readable under an
 * existing file's wider mode, never written through a symlink planted at the path, and never left
 * half-written.
 */
export function writePrivate(path: string, content: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/** A private key others can read stops start-up: it may already have leaked. */
export function checkPrivate(path: string): void {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    throw new SkiffError(
      'SKIFF_PKI_KEY_PERMISSIONS',
      `private key ${path} is readable by others (mode ${mode.toString(8).padStart(4, '0')})`,
      `run: chmod 600 ${path}`,
    );
  }
}
