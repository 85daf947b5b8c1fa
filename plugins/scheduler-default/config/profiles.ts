/**
 * Profiles into frameworks, with upstream's rules for plugin sets:
 * - the file's sets are merged over the defaults per extension point (mergePluginSet): `disabled`
 *   takes default plugins out ('*': all of them), an `enabled` plugin that is a default replaces it
 *   in place (its weight), the others are appended;
 * - multiPoint plugins join every extension point they implement, unless disabled there ('*'
 *   included); a plugin also named at a specific point keeps that point's place and weight;
 * - exactly one QueueSort plugin and at least one Bind plugin per profile, every profile the same
 *   QueueSort.
 * Plugins come from the in-tree registry, else from Skiff plugins offering `schedulerPlugin(name)`.
 */
import { SkiffError } from 'skiff/sdk';
import type { SchedulerPlugin, SchedulerPluginRegistration } from 'skiff/sdk/scheduler';
import { EXTENSION_POINTS, type ExtensionPoint, Framework, POINT_METHOD } from '../framework/framework.js';
import type { InternalHandle } from '../framework/handle.js';
import { DEFAULT_PLUGINS, IN_TREE, NOT_IMPLEMENTED } from '../intree/registry.js';
import type { Args } from '../intree/registry-types.js';
import {
  invalidConfig,
  type PluginRef,
  type PluginSet,
  type ProfileConfig,
  type SchedulerConfiguration,
} from './configuration.js';

type Point = ExtensionPoint | 'multiPoint';

/** Looks up a third-party scheduler plugin (undefined: no Skiff plugin offers it). */
export type ExternalLookup = (name: string) => SchedulerPluginRegistration | undefined;

/** Upstream's mergePluginSet. */
export function mergePluginSet(defaults: PluginSet, custom: PluginSet | undefined): PluginSet {
  if (!custom) return defaults;
  const disabled = [...custom.disabled, ...defaults.disabled];
  const off = new Set(disabled.map((p) => p.name));
  const replacing = new Map(custom.enabled.map((p, i) => [p.name, i]));
  const replaced = new Set<number>();
  const enabled: PluginRef[] = [];
  if (!off.has('*')) {
    for (const d of defaults.enabled) {
      if (off.has(d.name)) continue;
      const i = replacing.get(d.name);
      if (i === undefined) enabled.push(d);
      else {
        enabled.push(custom.enabled[i]!);
        replaced.add(i);
      }
    }
  }
  custom.enabled.forEach((p, i) => {
    if (!replaced.has(i)) enabled.push(p);
  });
  return { enabled, disabled };
}

/** The profile's plugin sets: upstream's defaults (all in multiPoint) merged with the file's. */
export function mergedSets(profile: ProfileConfig): Record<Point, PluginSet> {
  const sets = {} as Record<Point, PluginSet>;
  const defaults: Record<string, PluginSet> = {
    multiPoint: { enabled: DEFAULT_PLUGINS.map((p) => ({ ...p })), disabled: [] },
  };
  for (const point of [...EXTENSION_POINTS, 'multiPoint'] as Point[]) {
    sets[point] = mergePluginSet(defaults[point] ?? { enabled: [], disabled: [] }, profile.plugins[point]);
  }
  return sets;
}

const implementsPoint = (p: SchedulerPlugin, point: ExtensionPoint) => typeof p[POINT_METHOD[point]] === 'function';

function unknownPlugin(profile: string, name: string, where: string): SkiffError {
  if (NOT_IMPLEMENTED.has(name)) {
    return new SkiffError(
      'SKIFF_SCHEDULER_PLUGIN_NOT_IMPLEMENTED',
      `profile "${profile}": ${where}: upstream's plugin "${name}" is not implemented by Skiff's scheduler`,
      `remove it from the enabled plugins (disabling it is accepted); Skiff has: ${[...IN_TREE.keys()].join(', ')}`,
    );
  }
  return new SkiffError(
    'SKIFF_SCHEDULER_UNKNOWN_PLUGIN',
    `profile "${profile}": ${where}: plugin "${name}" does not exist`,
    `check the spelling (in-tree: ${[...IN_TREE.keys()].join(', ')}), or enable the Skiff plugin that provides it (schedulerPlugin("${name}"), loaded by path or package in the config file)`,
  );
}

/** Where a plugin is first enabled, for error messages: "plugins.filter.enabled[2]". */
function whereEnabled(profile: ProfileConfig, name: string): string {
  for (const [point, set] of Object.entries(profile.plugins)) {
    const i = set.enabled.findIndex((p) => p.name === name);
    if (i >= 0) return `plugins.${point}.enabled[${i}]`;
  }
  return 'plugins';
}

function argsFor(
  profile: ProfileConfig,
  name: string,
  kind: string | undefined,
  source: string,
  index: number,
): Args | undefined {
  const pc = profile.pluginConfig.find((c) => c.name === name);
  if (!pc) return undefined;
  const { apiVersion: _v, kind: givenKind, ...args } = pc.args;
  if (givenKind !== undefined && kind !== undefined && givenKind !== kind) {
    throw invalidConfig(source, [
      `profiles[${index}].pluginConfig[${name}].args.kind: Invalid value: ${JSON.stringify(givenKind)}: the args of ${name} are ${kind}`,
    ]);
  }
  return args;
}

function argsError(source: string, profileIndex: number, name: string, problems: string[]): SkiffError {
  return new SkiffError(
    'SKIFF_SCHEDULER_PLUGIN_ARGS',
    `${source}: profiles[${profileIndex}].pluginConfig: ${name}: ${problems.join('; ')}`,
    `correct the args of ${name} (upstream's field names and ranges)`,
  );
}

function instantiate(
  name: string,
  profile: ProfileConfig,
  index: number,
  config: SchedulerConfiguration,
  handle: InternalHandle,
  external: ExternalLookup,
): SchedulerPlugin {
  const inTree = IN_TREE.get(name);
  if (inTree) {
    const given = argsFor(profile, name, inTree.args?.kind, config.source, index);
    const args = { ...(inTree.args?.defaults() ?? {}), ...given };
    const problems = given && inTree.args ? inTree.args.validate(args) : [];
    if (problems.length) throw argsError(config.source, index, name, problems);
    return inTree.factory(args, handle);
  }
  const registration = external(name);
  if (!registration) throw unknownPlugin(profile.schedulerName, name, whereEnabled(profile, name));
  const given = argsFor(profile, name, undefined, config.source, index);
  const problems = registration.validateArgs?.(given) ?? [];
  if (problems.length) throw argsError(config.source, index, name, problems);
  return registration.factory(given, handle);
}

/** Upstream's expandMultiPointPlugins for one extension point. */
function expand(
  point: ExtensionPoint,
  sets: Record<Point, PluginSet>,
  plugins: Map<string, SchedulerPlugin>,
  profile: string,
): SchedulerPlugin[] {
  const specific = sets[point];
  const enabled = specific.enabled.map((p) => p.name);
  const off = new Set(specific.disabled.map((p) => p.name));
  const check = (name: string) => {
    const p = plugins.get(name)!;
    if (!implementsPoint(p, point))
      throw new SkiffError(
        'SKIFF_SCHEDULER_PLUGIN_POINT',
        `profile "${profile}": plugin "${name}" does not implement ${point}`,
        `enable ${name} only at the extension points it implements, or through multiPoint`,
      );
    return p;
  };
  if (off.has('*')) return enabled.map(check);
  const overrides: string[] = [];
  const fromMulti: string[] = [];
  for (const { name } of sets.multiPoint.enabled) {
    const p = plugins.get(name)!;
    if (!implementsPoint(p, point) || off.has(name)) continue;
    if (enabled.includes(name)) overrides.push(name);
    else if (fromMulti.includes(name))
      throw new SkiffError(
        'SKIFF_SCHEDULER_PLUGIN_DUPLICATE',
        `profile "${profile}": plugin "${name}" already registered as ${point}`,
        'name each plugin once in multiPoint',
      );
    else fromMulti.push(name);
  }
  const ordered = [
    ...enabled.filter((n) => overrides.includes(n)),
    ...fromMulti,
    ...enabled.filter((n) => !overrides.includes(n)),
  ];
  return ordered.map(check);
}

function scoreWeights(sets: Record<Point, PluginSet>, scorers: SchedulerPlugin[]): Map<string, number> {
  const weights = new Map<string, number>();
  for (const ref of [...sets.score.enabled, ...sets.multiPoint.enabled]) {
    if (weights.has(ref.name) || !scorers.some((p) => p.name === ref.name)) continue;
    weights.set(ref.name, ref.weight ? ref.weight : 1);
  }
  return weights;
}

/** Builds one profile's framework; `handle` is the handle its plugins get. */
export function buildFramework(
  config: SchedulerConfiguration,
  index: number,
  handle: (profile: string) => InternalHandle,
  external: ExternalLookup,
): Framework {
  const profile = config.profiles[index]!;
  const sets = mergedSets(profile);
  const h = handle(profile.schedulerName);
  const names = new Set<string>();
  for (const set of Object.values(sets)) for (const p of set.enabled) names.add(p.name);
  const plugins = new Map<string, SchedulerPlugin>();
  for (const name of names) plugins.set(name, instantiate(name, profile, index, config, h, external));
  const points = {} as Record<ExtensionPoint, SchedulerPlugin[]>;
  for (const point of EXTENSION_POINTS) points[point] = expand(point, sets, plugins, profile.schedulerName);
  const where = `${config.source}: profiles[${index}]`;
  if (points.queueSort.length !== 1) {
    throw invalidConfig(where, [
      `only one queue sort plugin required for profile with scheduler name "${profile.schedulerName}", but got ${points.queueSort.length}`,
    ]);
  }
  if (points.bind.length === 0)
    throw invalidConfig(where, [
      `at least one bind plugin is needed for profile with scheduler name "${profile.schedulerName}"`,
    ]);
  for (const [name, w] of scoreWeights(sets, points.score)) {
    if (!(Number.isInteger(w) && w > 0 && w <= 100))
      throw invalidConfig(where, [`plugins.score: weight of ${name}: Invalid value: ${w}: must be between 1 and 100`]);
  }
  for (const pc of profile.pluginConfig) {
    if (!plugins.has(pc.name) && !IN_TREE.has(pc.name) && !NOT_IMPLEMENTED.has(pc.name) && !external(pc.name)) {
      throw unknownPlugin(profile.schedulerName, pc.name, 'pluginConfig');
    }
  }
  return new Framework({
    schedulerName: profile.schedulerName,
    percentageOfNodesToScore: profile.percentageOfNodesToScore,
    points,
    weights: scoreWeights(sets, points.score),
    plugins,
  });
}

/** Every profile's framework; QueueSort must be the same in all (one queue serves them all). */
export function buildFrameworks(
  config: SchedulerConfiguration,
  handle: (profile: string) => InternalHandle,
  external: ExternalLookup,
): Map<string, Framework> {
  const out = new Map<string, Framework>();
  config.profiles.forEach((_, i) => {
    const fwk = buildFramework(config, i, handle, external);
    const first = out.values().next().value as Framework | undefined;
    if (first && first.points.queueSort[0]!.name !== fwk.points.queueSort[0]!.name) {
      throw invalidConfig(config.source, [
        `profiles[${i}].plugins.queueSort: Invalid value: "${fwk.points.queueSort[0]!.name}": queueSort must be the same for all profiles`,
      ]);
    }
    out.set(fwk.schedulerName, fwk);
  });
  return out;
}
