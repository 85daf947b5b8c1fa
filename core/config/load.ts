/**
 * Loading the config file: YAML → validated server settings → plugin manifests, each plugin's
 * config validated by its own schema, dependencies checked and ordered. All before any plugin's
 * setup runs, so a mistake stops start-up with no side effects and an error that names the file,
 * the key and the fix.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import type { ZodError, ZodType } from 'zod';
import { SkiffError } from '../errors.js';
import type { PluginManifest } from '../plugins/contract.js';
import { tlsOffer } from '../server/tls-options.js';
import { orderPlugins } from './order.js';
import { fileSchema, type PluginEntry, type Port, pluginEntrySchema } from './schema.js';

export interface ServerConfig {
  dataDir: string;
  bindAddress: string;
  securePort: Port;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tlsMinVersion?: string;
  tlsCipherSuites?: string[];
  insecureBindAddress: string;
  insecurePort: Port;
  storageBackend: string;
  maxRequestBodyBytes: number;
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  maxInflightBodyBytes: number;
  requestHeaderTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  shutdownTimeoutSeconds: number;
  watchCacheSize: number;
}

export interface LoadedPlugin {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: manifests differ in their config type
  manifest: PluginManifest<any>;
  config: unknown;
  /** 'built-in', an absolute path, or a package name. */
  source: string;
  /** What a failure of the plugin's admission work does: reject the request, or be skipped. */
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
}

export interface ResolvedConfig {
  file: string;
  server: ServerConfig;
  plugins: LoadedPlugin[];
}

export interface ConfigOverrides {
  dataDir?: string;
  bindAddress?: string;
  securePort?: Port;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tlsMinVersion?: string;
  tlsCipherSuites?: string[];
  insecureBindAddress?: string;
  insecurePort?: Port;
  storageBackend?: string;
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
  /** Plugins enabled by upstream-named flags (--token-auth-file, ...): their config keys are merged
   * over the file's entry, and the plugin is enabled even when the file does not list it. */
  plugins?: Record<string, Record<string, unknown>>;
  /**
   * Upstream's --authorization-mode: replaces every authz-* plugin of the file with these, in
   * this order (the chain's order).
   */
  authorizers?: { name: string; config?: Record<string, unknown> }[];
  /** Plugins turned off whatever the file says (upstream's --disable-admission-plugins). */
  disabled?: string[];
  /** Config merged over the file's entry without enabling the plugin (--admission-control-config-file). */
  configure?: Record<string, Record<string, unknown>>;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_CONFIG_FILE = resolve(REPO_ROOT, 'config/default.yaml');
const BUILT_IN_DIR = resolve(REPO_ROOT, 'plugins');

export async function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Promise<ResolvedConfig> {
  const path = resolve(file ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(path)) {
    throw new SkiffError(
      'SKIFF_CONFIG_NOT_FOUND',
      `config file ${path} does not exist`,
      'pass an existing file with --config, or omit --config to use config/default.yaml',
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const at = lineCounter.linePos(e.pos[0]);
    throw new SkiffError(
      'SKIFF_CONFIG_YAML',
      `${path}:${at.line}:${at.col}: ${e.message.split('\n')[0]}`,
      'fix the YAML syntax at that line',
    );
  }
  const lineOf = (keyPath: (string | number)[]): string => {
    const node = doc.getIn(keyPath, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? `:${lineCounter.linePos(node.range[0]).line}` : '';
  };
  return loadConfigFromObject(doc.toJS() ?? {}, path, overrides, lineOf);
}

export async function loadConfigFromObject(
  obj: unknown,
  file: string,
  overrides: ConfigOverrides = {},
  lineOf: (keyPath: (string | number)[]) => string = () => '',
): Promise<ResolvedConfig> {
  const parsed = fileSchema.safeParse(obj);
  if (!parsed.success)
    throw invalid(
      'SKIFF_CONFIG_INVALID',
      file,
      [],
      parsed.error,
      lineOf,
      'correct the value (see README "Configuration")',
    );
  const { server: s, plugins: entries } = parsed.data;
  const server: ServerConfig = {
    dataDir: resolve(overrides.dataDir ?? s.dataDir),
    bindAddress: overrides.bindAddress ?? s.bindAddress,
    securePort: overrides.securePort ?? s.securePort,
    tlsCertFile: optionalPath(overrides.tlsCertFile ?? s.tlsCertFile),
    tlsPrivateKeyFile: optionalPath(overrides.tlsPrivateKeyFile ?? s.tlsPrivateKeyFile),
    tlsMinVersion: overrides.tlsMinVersion ?? s.tlsMinVersion,
    tlsCipherSuites: overrides.tlsCipherSuites ?? s.tlsCipherSuites,
    insecureBindAddress: overrides.insecureBindAddress ?? s.insecureBindAddress,
    insecurePort: overrides.insecurePort ?? s.insecurePort,
    storageBackend: overrides.storageBackend ?? s.storageBackend,
    maxRequestBodyBytes: s.maxRequestBodyBytes,
    maxRequestsInflight: overrides.maxRequestsInflight ?? s.maxRequestsInflight,
    maxMutatingRequestsInflight: overrides.maxMutatingRequestsInflight ?? s.maxMutatingRequestsInflight,
    maxInflightBodyBytes: s.maxInflightBodyBytes,
    requestHeaderTimeoutSeconds: s.requestHeaderTimeoutSeconds,
    idleTimeoutSeconds: s.idleTimeoutSeconds,
    shutdownTimeoutSeconds: s.shutdownTimeoutSeconds,
    watchCacheSize: s.watchCacheSize,
  };
  // An unknown version or suite stops start-up here, before any plugin runs.
  tlsOffer(server.tlsMinVersion, server.tlsCipherSuites);
  if (server.insecurePort !== 0 && !isLoopback(server.insecureBindAddress)) {
    throw new SkiffError(
      'SKIFF_INSECURE_NOT_LOOPBACK',
      `${file}${lineOf(['server', 'insecureBindAddress'])}: server.insecureBindAddress is ${server.insecureBindAddress}, but the insecure port may only listen on loopback: every request on it acts as an unrestricted admin`,
      'use 127.0.0.1 or ::1, or turn the insecure port off (insecurePort: 0) and use the HTTPS port',
    );
  }
  const baseDir = file.startsWith('(') ? process.cwd() : dirname(file);
  if (overrides.authorizers) {
    for (const name of Object.keys(entries)) if (name.startsWith('authz-')) delete entries[name];
    for (const a of overrides.authorizers) entries[a.name] = pluginEntrySchema.parse({ config: a.config });
  }
  for (const [name, config] of Object.entries(overrides.plugins ?? {})) {
    const entry = entries[name];
    entries[name] = {
      ...pluginEntrySchema.parse({}),
      ...entry,
      enabled: true,
      config: { ...entry?.config, ...config },
    };
  }
  for (const [name, config] of Object.entries(overrides.configure ?? {})) {
    const entry = entries[name];
    if (entry) entries[name] = { ...entry, config: { ...entry.config, ...config } };
  }
  for (const name of overrides.disabled ?? []) if (entries[name]) entries[name].enabled = false;
  const plugins: LoadedPlugin[] = [];
  for (const [name, entry] of Object.entries(entries)) {
    if (entry.enabled === false) continue;
    plugins.push(await loadPlugin(name, entry, file, baseDir, lineOf));
  }
  return { file, server, plugins: orderPlugins(plugins, file) };
}

const isLoopback = (address: string) =>
  /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1' || address === 'localhost';

const optionalPath = (p: string | undefined) => (p === undefined ? undefined : resolve(p));

async function loadPlugin(
  name: string,
  entry: PluginEntry,
  file: string,
  baseDir: string,
  lineOf: (keyPath: (string | number)[]) => string,
): Promise<LoadedPlugin> {
  const { specifier, source } = locate(name, entry, file, baseDir);
  let manifest: PluginManifest<unknown>;
  try {
    const mod = (await import(specifier)) as { default?: PluginManifest<unknown> };
    manifest = mod.default as PluginManifest<unknown>;
  } catch (err) {
    throw new SkiffError(
      'SKIFF_PLUGIN_LOAD',
      `${file}: plugins.${name}: cannot load ${source}: ${(err as Error).message}`,
      'check the path or package name, and that it builds',
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
  const schema = manifest.config as ZodType | undefined;
  const raw = entry.config ?? {};
  let config: unknown = raw;
  if (schema) {
    const r = schema.safeParse(raw);
    if (!r.success)
      throw invalid(
        'SKIFF_PLUGIN_CONFIG_INVALID',
        file,
        ['plugins', name, 'config'],
        r.error,
        lineOf,
        `see plugins/${name}/README.md for its keys`,
      );
    config = r.data;
  } else if (Object.keys(raw).length) {
    throw new SkiffError(
      'SKIFF_PLUGIN_CONFIG_INVALID',
      `${file}${lineOf(['plugins', name, 'config'])}: plugins.${name}.config: this plugin takes no configuration`,
      'remove the config block',
    );
  }
  return { name, manifest, config, source, failurePolicy: entry.failurePolicy, timeoutSeconds: entry.timeoutSeconds };
}

function locate(
  name: string,
  entry: PluginEntry,
  file: string,
  baseDir: string,
): { specifier: string; source: string } {
  if (entry.path) {
    const abs = isAbsolute(entry.path) ? entry.path : resolve(baseDir, entry.path);
    const candidates = [abs, `${abs}/index.ts`, `${abs}/index.js`, `${abs}/index.mjs`];
    const found = candidates.find((c) => existsSync(c) && !c.endsWith('/') && (c !== abs || /\.[cm]?[jt]s$/.test(c)));
    if (!found) {
      throw new SkiffError(
        'SKIFF_PLUGIN_LOAD',
        `${file}: plugins.${name}.path: nothing to load at ${abs}`,
        'point path at a plugin folder with index.ts/index.js, or at its entry file',
      );
    }
    return { specifier: pathToFileURL(found).href, source: found };
  }
  if (entry.package) return { specifier: entry.package, source: entry.package };
  const builtIn = resolve(BUILT_IN_DIR, name, 'index.ts');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !existsSync(builtIn)) {
    throw new SkiffError(
      'SKIFF_CONFIG_UNKNOWN_PLUGIN',
      `${file}: plugins.${name}: there is no built-in plugin "${name}" (known: ${builtInNames().join(', ')}), and the entry has no path or package`,
      'check the spelling, or add path: (a folder) or package: (an npm package) for a third-party plugin',
    );
  }
  return { specifier: pathToFileURL(builtIn).href, source: 'built-in' };
}

export function builtInNames(): string[] {
  if (!existsSync(BUILT_IN_DIR)) return [];
  return readdirSync(BUILT_IN_DIR)
    .filter((d) => existsSync(resolve(BUILT_IN_DIR, d, 'index.ts')))
    .sort();
}

function invalid(
  code: string,
  file: string,
  prefix: (string | number)[],
  error: ZodError,
  lineOf: (keyPath: (string | number)[]) => string,
  fix: string,
): SkiffError {
  const issue = error.issues[0]!;
  const keyPath = [...prefix, ...(issue.path as (string | number)[])];
  const key = keyPath.join('.') || '(top level)';
  return new SkiffError(code, `${file}${lineOf(keyPath)}: ${key}: ${issue.message}`, fix);
}
