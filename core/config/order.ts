/** Dependency checks and ordering: dependencies first, otherwise config order (stable). */
import { SkiffError } from '../errors.js';
import type { LoadedPlugin } from './types.js';

export function orderPlugins(plugins: LoadedPlugin[], file: string): LoadedPlugin[] {
  const byName = new Map(plugins.map((p) => [p.name, p]));
  for (const p of plugins) {
    for (const dep of p.manifest.dependencies ?? []) {
      if (!byName.has(dep)) {
        throw new SkiffError(
          'SKIFF_PLUGIN_MISSING_DEPENDENCY',
          `${file}: plugins.${p.name} needs "${dep}", which is not enabled`,
          `add "${dep}" under plugins (or set enabled: true on it), or disable ${p.name}`,
        );
      }
    }
  }
  const ordered: LoadedPlugin[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: LoadedPlugin, trail: string[]) => {
    if (state.get(p.name) === 'done') return;
    if (state.get(p.name) === 'visiting') {
      throw new SkiffError(
        'SKIFF_PLUGIN_DEPENDENCY_CYCLE',
        `${file}: plugins depend on each other in a cycle: ${[...trail, p.name].join(' -> ')}`,
        'remove one of the dependencies in that cycle',
      );
    }
    state.set(p.name, 'visiting');
    for (const dep of p.manifest.dependencies ?? []) visit(byName.get(dep)!, [...trail, p.name]);
    state.set(p.name, 'done');
    ordered.push(p);
  };
  for (const p of plugins) visit(p, []);
  return ordered;
}
