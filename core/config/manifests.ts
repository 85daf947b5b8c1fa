/**
 * Finding and importing plugin manifests: the built-in ones (one folder each under plugins/) and
 * third-party ones a config file names by path or package. The config loader and the CLI (which
 * builds its flags and commands from the manifests) share this, so both see the same plugins.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { SkiffError } from '../errors.js';
import type { PluginManifest } from '../plugins/contract.js';
import { checkModuleFormat, importFailureFix } from '../plugins/module-format.js';
import { declaresProvider, MissingProviderError, type ServiceKey } from '../plugins/services.js';
import { ensureTypeScriptLoader, MODULE_EXTENSION } from '../plugins/typescript-loader.js';
import type { PluginEntry } from './schema.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// Run from the launcher's copy (.cache/js), config/ is a link: messages name the real file.
const CONFIG_DIR = resolve(REPO_ROOT, 'config');
export const DEFAULT_CONFIG_FILE = resolve(
  existsSync(CONFIG_DIR) ? realpathSync(CONFIG_DIR) : CONFIG_DIR,
  'default.yaml',
);
const BUILT_IN_DIR = resolve(REPO_ROOT, 'plugins');
const BUILT_IN_INDEX = `index${MODULE_EXTENSION}`;

// biome-ignore lint/suspicious/noExplicitAny: manifests differ in their config type
export type AnyManifest = PluginManifest<any>;

export interface Located {
  specifier: string;
  /** 'built-in', an absolute path, or a package name. */
  source: string;
}

export function builtInNames(): string[] {
  if (!existsSync(BUILT_IN_DIR)) return [];
  return readdirSync(BUILT_IN_DIR)
    .filter((d) => existsSync(resolve(BUILT_IN_DIR, d, BUILT_IN_INDEX)))
    .sort();
}

export function locate(
  name: string,
  entry: Pick<PluginEntry, 'path' | 'package'>,
  file: string,
  baseDir: string,
): Located {
  if (entry.path) {
    const abs = isAbsolute(entry.path) ? entry.path : resolve(baseDir, entry.path);
    const candidates = [abs, `${abs}/index.ts`, `${abs}/index.mts`, `${abs}/index.js`, `${abs}/index.mjs`];
    const found = candidates.find((c) => existsSync(c) && !c.endsWith('/') && (c !== abs || /\.[cm]?[jt]s$/.test(c)));
    if (!found) {
      throw new SkiffError(
        'SKIFF_PLUGIN_LOAD',
        `${file}: plugins.${name}.path: nothing to load at ${abs}`,
        'point path at a plugin folder with index.ts/index.js, or at its entry file',
      );
    }
    checkModuleFormat(found, `${file}: plugins.${name}`);
    return { specifier: pathToFileURL(found).href, source: found };
  }
  if (entry.package) return { specifier: entry.package, source: entry.package };
  const builtIn = resolve(BUILT_IN_DIR, name, BUILT_IN_INDEX);
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !existsSync(builtIn)) {
    throw new SkiffError(
      'SKIFF_CONFIG_UNKNOWN_PLUGIN',
      `${file}: plugins.${name}: there is no built-in plugin "${name}" (known: ${builtInNames().join(', ')}), and the entry has no path or package`,
      'check the spelling, or add path: (a folder) or package: (an npm package) for a third-party plugin',
    );
  }
  return { specifier: pathToFileURL(builtIn).href, source: 'built-in' };
}

/** Imports a plugin and checks that it default-exports a manifest calling itself `name`. */
export async function importManifest(name: string, located: Located, file: string): Promise<AnyManifest> {
  const { specifier, source } = located;
  let manifest: AnyManifest | undefined;
  try {
    if (source !== 'built-in') await ensureTypeScriptLoader();
    manifest = ((await import(specifier)) as { default?: AnyManifest }).default;
  } catch (err) {
    throw new SkiffError(
      'SKIFF_PLUGIN_LOAD',
      `${file}: plugins.${name}: cannot load ${source}: ${(err as Error).message}`,
      importFailureFix(err, source),
    );
  }
  if (!manifest || typeof manifest.setup !== 'function' || typeof manifest.name !== 'string') {
    throw new SkiffError(
      'SKIFF_PLUGIN_LOAD',
      `${file}: plugins.${name}: ${source} does not default-export a plugin manifest`,
      'export default definePlugin({ name, description, setup }) from its index',
    );
  }
  if (manifest.name !== name) {
    throw new SkiffError(
      'SKIFF_PLUGIN_NAME_MISMATCH',
      `${file}: plugins.${name}: the plugin at ${source} calls itself "${manifest.name}"`,
      `rename the config key to "${manifest.name}"`,
    );
  }
  return manifest;
}

/**
 * Every built-in plugin's manifest, in folder order (the CLI's flags, commands, modes and admission
 * names). One that does not load is left out here, as it is from a config that does not enable it;
 * loading a config that enables it reports the coded error.
 */
export async function builtInManifests(): Promise<AnyManifest[]> {
  const settled = await Promise.allSettled(
    builtInNames().map((name) => importManifest(name, locate(name, {}, '(built-in)', REPO_ROOT), '(built-in)')),
  );
  return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
}

/**
 * The third-party manifests a config file names (by path or package), so their flags can be
 * offered too. Best effort: a file or plugin that does not load is skipped here, and loading the
 * config later reports it with its coded error.
 */
export async function thirdPartyManifests(configFile: string | undefined): Promise<AnyManifest[]> {
  const path = resolve(configFile ?? DEFAULT_CONFIG_FILE);
  let entries: Record<string, Pick<PluginEntry, 'path' | 'package'> | null>;
  try {
    entries = (parseYaml(readFileSync(path, 'utf8')) as { plugins?: typeof entries } | null)?.plugins ?? {};
  } catch {
    return [];
  }
  const found: AnyManifest[] = [];
  for (const [name, entry] of Object.entries(entries)) {
    if (!entry || typeof entry !== 'object' || !(entry.path || entry.package)) continue;
    try {
      found.push(await importManifest(name, locate(name, entry, path, dirname(path)), path));
    } catch {
      // Reported, with its code, when the config is loaded.
    }
  }
  return found;
}

/** The built-in plugins whose manifests declare that they provide `key`. */
export async function builtInProviders(key: ServiceKey<unknown>): Promise<string[]> {
  return (await builtInManifests()).filter((m) => declaresProvider(m, key)).map((m) => m.name);
}

/**
 * `err` with its fix naming the built-in plugins that provide the missing service, when it is a
 * MissingProviderError (any other error as it is). Core knows no plugin by name: the manifests tell.
 */
export async function explainMissingProvider(err: unknown): Promise<unknown> {
  if (!(err instanceof MissingProviderError)) return err;
  return err.naming(await builtInProviders(err.key));
}
