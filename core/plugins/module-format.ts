/**
 * What stops a plugin loaded by path from importing, found before it is imported, so the operator
 * gets a coded error naming the file to change instead of Node's own words.
 *
 * Node loads a `.ts` or `.js` file as CommonJS unless the nearest package.json above it says
 * `"type": "module"`; a plugin written as the README shows (import/export) then fails deep inside
 * the module loader ("Cannot require() ES Module ... in a cycle"), which says nothing about the
 * missing field. Files named `.mts`/`.mjs` are ES modules wherever they are, so they need no check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SkiffError } from '../errors.js';

/** ES module syntax at the start of a line: a static import or an export. */
const ESM_SYNTAX = /^\s*(import\s*[\w{*'"]|import\s+type\s|export\s)/m;

/**
 * Throws SKIFF_PLUGIN_NOT_ESM when `entry` is written as an ES module but Node would load it as
 * CommonJS. `where` names the config entry: `skiff.yaml: plugins.my-plugin`.
 */
export function checkModuleFormat(entry: string, where: string): void {
  if (!/\.(ts|tsx|js)$/.test(entry) || !ESM_SYNTAX.test(readFileSync(entry, 'utf8'))) return;
  const scope = packageScope(dirname(entry));
  if (scope?.type === 'module') return;
  const stem = basename(entry).replace(/\.(ts|tsx|js)$/, '');
  const alternative = `, or rename ${basename(entry)} to ${stem}.${entry.endsWith('.js') ? 'mjs' : 'mts'}`;
  if (!scope) {
    throw new SkiffError(
      'SKIFF_PLUGIN_NOT_ESM',
      `${where}: ${entry} uses import/export, but no package.json in its folder or above says "type": "module", so Node would load it as CommonJS`,
      `create ${join(dirname(entry), 'package.json')} containing { "type": "module" }${alternative}`,
    );
  }
  throw new SkiffError(
    'SKIFF_PLUGIN_NOT_ESM',
    `${where}: ${entry} uses import/export, but ${scope.file} ${scope.type ? `says "type": "${scope.type}"` : 'has no "type" field'}, so Node would load it as CommonJS`,
    `set "type": "module" in ${scope.file}${alternative}`,
  );
}

/** The package.json that decides how Node loads files in `dir` (the nearest one above it). */
function packageScope(dir: string): { file: string; type?: string } | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const file = join(d, 'package.json');
    if (existsSync(file)) return { file, type: readType(file) };
    if (dirname(d) === d || basename(d) === 'node_modules') return undefined;
  }
}

function readType(file: string): string | undefined {
  try {
    const type = (JSON.parse(readFileSync(file, 'utf8')) as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined; // Node reports an unreadable package.json itself, with its path.
  }
}

/**
 * The fix for a plugin that failed to import: a package it names that cannot be found is the
 * common case for a plugin outside this repository, which has no node_modules of its own.
 */
export function importFailureFix(err: unknown, source: string): string {
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec((err as Error)?.message ?? '')?.[1];
  if (!missing || missing.startsWith('.') || missing.startsWith('/'))
    return 'check the path or package name, and that it builds';
  const name = missing.startsWith('@') ? missing.split('/').slice(0, 2).join('/') : missing.split('/')[0]!;
  if (name === 'zod')
    return "import { z } from 'skiff/sdk' (the zod Skiff validates config with), or npm install zod in the plugin's folder";
  if (name === 'kubernetes-types')
    return "import its types with `import type { Pod } from 'kubernetes-types/core/v1.js'`: the package has no code to load";
  return `npm install ${name} in the plugin's folder (${dirname(source)}) or a folder above it; skiff/sdk needs no install`;
}
