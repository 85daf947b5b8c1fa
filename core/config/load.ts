/**
 * Loading the config file: YAML → validated server settings → plugin manifests, each plugin's
 * config validated by its own schema, dependencies checked and ordered. All before any plugin's
 * setup runs, so a mistake stops start-up with no side effects and an error that names the file,
 * the key and the fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { ZodError, ZodType } from 'zod';
import { SkiffError } from '../errors.js';
import { tlsOffer } from '../server/tls-options.js';
import { DEFAULT_CONFIG_FILE, importManifest, locate } from './manifests.js';
import { orderPlugins } from './order.js';
import { fileSchema, type PluginEntry, pluginEntrySchema } from './schema.js';
import type { ConfigOverrides, LoadedPlugin, ResolvedConfig, ServerConfig } from './types.js';

export { builtInNames, DEFAULT_CONFIG_FILE } from './manifests.js';
export type { ConfigOverrides, LoadedPlugin, ResolvedConfig, ServerConfig, ServerOverrides } from './types.js';

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
  const server = serverConfig(parsed.data.server, overrides);
  checkServer(server, file, lineOf);
  const entries = pluginEntries(parsed.data.plugins, overrides);
  const baseDir = file.startsWith('(') ? process.cwd() : dirname(file);
  const plugins: LoadedPlugin[] = [];
  for (const [name, entry] of Object.entries(entries)) {
    if (entry.enabled === false) continue;
    plugins.push(await loadPlugin(name, entry, file, baseDir, lineOf));
  }
  return { file, server, plugins: orderPlugins(plugins, file) };
}

/** The file's server block with the command line's flags over it. */
function serverConfig(s: FileServer, overrides: ConfigOverrides): ServerConfig {
  return {
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
  };
}

/** Settings that are wrong together stop start-up here, before any plugin runs. */
function checkServer(server: ServerConfig, file: string, lineOf: (keyPath: (string | number)[]) => string): void {
  // An unknown TLS version or suite throws its own coded error.
  tlsOffer(server.tlsMinVersion, server.tlsCipherSuites);
  if (server.insecurePort !== 0 && !isLoopback(server.insecureBindAddress)) {
    throw new SkiffError(
      'SKIFF_INSECURE_NOT_LOOPBACK',
      `${file}${lineOf(['server', 'insecureBindAddress'])}: server.insecureBindAddress is ${server.insecureBindAddress}, but the insecure port may only listen on loopback: every request on it acts as an unrestricted admin`,
      'use 127.0.0.1 or ::1, or turn the insecure port off (insecurePort: 0) and use the HTTPS port',
    );
  }
}

/**
 * The file's plugin entries with the command line's choices over them: --authorization-mode
 * replaces the authorizers, plugin flags enable and configure, admission flags configure or disable.
 */
function pluginEntries(entries: Record<string, PluginEntry>, overrides: ConfigOverrides): Record<string, PluginEntry> {
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
  return entries;
}

type FileServer = ReturnType<typeof fileSchema.parse>['server'];

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
  const located = locate(name, entry, file, baseDir);
  const manifest = await importManifest(name, located, file);
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
        `see ${readmeOf(name, located.source)} for its keys`,
      );
    config = r.data;
  } else if (Object.keys(raw).length) {
    throw new SkiffError(
      'SKIFF_PLUGIN_CONFIG_INVALID',
      `${file}${lineOf(['plugins', name, 'config'])}: plugins.${name}.config: this plugin takes no configuration`,
      'remove the config block',
    );
  }
  const { source } = located;
  return { name, manifest, config, source, failurePolicy: entry.failurePolicy, timeoutSeconds: entry.timeoutSeconds };
}

/** Where a plugin's keys are documented: its folder's README (built-in or by path), or its package's. */
function readmeOf(name: string, source: string): string {
  if (source === 'built-in') return `plugins/${name}/README.md`;
  return isAbsolute(source) ? join(dirname(source), 'README.md') : `the README of package ${source}`;
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
