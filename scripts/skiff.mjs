#!/usr/bin/env node
// The `skiff` bin. It runs Skiff from .cache/js/<build>, a JavaScript build of core/ and plugins/
// that scripts/js-cache.mjs makes first when the sources changed (esbuild bundles them into a few
// dozen modules), because loading ~550 source modules one by one, through tsx's loader hooks or
// not, costs a second or more on every start. Plugins loaded by path still may be TypeScript:
// core registers tsx before it imports the first of them.
// SKIFF_FROM_SOURCE=1 runs the sources through tsx instead, as the tests do; SKIFF_JS_CACHE=DIR
// keeps the copy elsewhere (a read-only checkout). A copy that cannot be built falls back to tsx.
// The CLI runs in this process, not in a child, so a signal sent to this PID reaches it. Started
// through npm (`npx skiff`, `npm start`), npm's `sh -c` sits in between: npm hands a SIGTERM to that
// shell, which dies of it without passing it on, so the long-running commands also stop when the
// shell exits (core/cli/stop-on-signals.ts).
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The up-to-date copy's directory; undefined (after saying why) when it cannot be built here. */
async function compiledCopy() {
  try {
    const { compileTree } = await import('./js-cache.mjs');
    return (await compileTree(root, process.env.SKIFF_JS_CACHE || undefined)).out;
  } catch (err) {
    process.stderr.write(
      `skiff: running from the TypeScript sources, as .cache/js could not be built: ${err.message}\n`,
    );
    return undefined;
  }
}

const copy = process.env.SKIFF_FROM_SOURCE ? undefined : await compiledCopy();
if (copy) {
  // Stack traces name the TypeScript lines, as they do under tsx.
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(`${copy}/core/cli/main.js`).href);
} else {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: `${root}tsconfig.json` });
  await import('../core/cli/main.ts');
}
