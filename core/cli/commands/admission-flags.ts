/**
 * Upstream's admission flags: --enable-admission-plugins, --disable-admission-plugins and
 * --admission-control-config-file (an AdmissionConfiguration), turned into config overrides.
 * Upstream names come from the plugins' manifests (`admissionName`, with `admissionOrder` for
 * upstream's fixed order); any other name is taken as a plugin's config key, so third-party
 * admission plugins can be named too.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { ConfigOverrides } from '../../config/load.js';
import type { AnyManifest } from '../../config/manifests.js';
import { SkiffError } from '../../errors.js';

export interface AdmissionFlags {
  enableAdmissionPlugins?: string;
  disableAdmissionPlugins?: string;
  admissionControlConfigFile?: string;
}

interface AdmissionName {
  plugin: string;
  order?: number;
}

/** Upstream admission name → plugin, from the manifests. */
export function admissionNames(manifests: readonly AnyManifest[]): Map<string, AdmissionName> {
  return new Map(
    manifests.flatMap((m) => (m.admissionName ? [[m.admissionName, { plugin: m.name, order: m.admissionOrder }]] : [])),
  );
}

export function admissionOptions(command: Command): Command {
  return command
    .option('--enable-admission-plugins <names>', 'admission plugins to turn on, e.g. NamespaceLifecycle,LimitRanger')
    .option(
      '--disable-admission-plugins <names>',
      'admission plugins to turn off, even if the config file enables them',
    )
    .option(
      '--admission-control-config-file <file>',
      "upstream's AdmissionConfiguration: plugins: [{name, path | configuration}]",
    );
}

const names = (list: string | undefined) =>
  (list ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);

export function admissionOverrides(
  flags: AdmissionFlags,
  manifests: readonly AnyManifest[],
): Pick<ConfigOverrides, 'plugins' | 'disabled' | 'configure'> {
  const known = admissionNames(manifests);
  const pluginKey = (name: string) => known.get(name)?.plugin ?? name;
  const enable = names(flags.enableAdmissionPlugins);
  const disable = names(flags.disableAdmissionPlugins);
  const both = enable.filter((n) => disable.includes(n));
  if (both.length) {
    throw new SkiffError(
      'SKIFF_ADMISSION_FLAGS',
      `${both.join(', ')} ${both.length === 1 ? 'is' : 'are'} in both --enable-admission-plugins and --disable-admission-plugins`,
      'name each plugin in one of the two flags only',
    );
  }
  // Upstream ignores the flag's order and runs plugins in its own; Skiff does the same for known
  // names. Names without an order run last, beside the last of upstream's (stable: in flag order).
  const last = Math.max(0, ...[...known.values()].map((k) => k.order ?? 0));
  const rank = (n: string) => known.get(n)?.order ?? last;
  const plugins: Record<string, Record<string, unknown>> = {};
  for (const n of [...enable].sort((a, b) => rank(a) - rank(b))) plugins[pluginKey(n)] = {};
  return {
    plugins,
    disabled: disable.map(pluginKey),
    configure: flags.admissionControlConfigFile
      ? readAdmissionConfiguration(flags.admissionControlConfigFile, pluginKey)
      : {},
  };
}

interface AdmissionConfiguration {
  kind?: unknown;
  plugins?: { name?: unknown; path?: unknown; configuration?: unknown }[];
}

/** Upstream's AdmissionConfiguration: `plugins: [{name, path | configuration}]`, paths relative to the file. */
export function readAdmissionConfiguration(
  file: string,
  pluginKey: (name: string) => string,
): Record<string, Record<string, unknown>> {
  const fail = (message: string, fix: string) => new SkiffError('SKIFF_ADMISSION_CONFIG', `${file}: ${message}`, fix);
  const doc = readYaml(file, fail) as AdmissionConfiguration;
  if (doc?.kind !== 'AdmissionConfiguration' || !Array.isArray(doc.plugins)) {
    throw fail(
      'expected kind AdmissionConfiguration with a plugins list',
      'write apiVersion: apiserver.config.k8s.io/v1, kind: AdmissionConfiguration, plugins: [{name, configuration}]',
    );
  }
  const out: Record<string, Record<string, unknown>> = {};
  doc.plugins.forEach((p, i) => {
    if (typeof p?.name !== 'string' || !p.name)
      throw fail(`plugins[${i}].name must be set`, 'name the plugin, e.g. ResourceQuota');
    if (p.path !== undefined && p.configuration !== undefined) {
      throw fail(`plugins[${i}] (${p.name}) has both path and configuration`, 'keep one of them, as upstream requires');
    }
    const configuration =
      typeof p.path === 'string' ? readYaml(resolve(dirname(file), p.path), fail) : (p.configuration ?? {});
    if (typeof configuration !== 'object' || configuration === null || Array.isArray(configuration)) {
      throw fail(`plugins[${i}] (${p.name}): the configuration must be an object`, 'give a YAML mapping');
    }
    const { apiVersion: _a, kind: _k, ...rest } = configuration as Record<string, unknown>;
    out[pluginKey(p.name)] = rest;
  });
  return out;
}

function readYaml(file: string, fail: (message: string, fix: string) => SkiffError): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw fail(`cannot read ${file}: ${(err as Error).message}`, 'give a readable YAML file');
  }
}
