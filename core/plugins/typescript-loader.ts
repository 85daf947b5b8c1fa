/**
 * Plugins loaded by path or package may be TypeScript. Run from the sources (the tests,
 * SKIFF_FROM_SOURCE=1), tsx is registered already. Run from the launcher's JavaScript copy
 * (.cache/js, scripts/js-cache.mjs), it is registered here, once, before the first such plugin is
 * imported: late, because every module imported after it goes through its hooks. It gets the
 * copy's tsconfig, whose paths map `skiff/sdk` into the copy, so a plugin shares the running
 * core's modules (one SkiffError class, one registry) rather than loading the sources beside them.
 */
import { fileURLToPath } from 'node:url';

const fromSources = import.meta.url.endsWith('.ts');
let registered = fromSources;

/** The extension of core's and the built-in plugins' modules as they run: .ts, or .js in the copy. */
export const MODULE_EXTENSION = fromSources ? '.ts' : '.js';

export async function ensureTypeScriptLoader(): Promise<void> {
  if (registered) return;
  registered = true;
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
}
