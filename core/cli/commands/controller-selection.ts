/**
 * upstream's --controllers list: `*` turns on every controller, `foo` turns foo on, `-foo` turns it
 * off; the first entry naming a controller decides, and without `*` only named ones run. Names are
 * Skiff's registration names (`namespace`, `garbagecollector`) or upstream's current ones
 * (`namespace-controller`, `garbage-collector-controller`); dashes do not count.
 */
import type { ResolvedConfig } from '../../config/load.js';
import { SkiffError } from '../../errors.js';
import { type ControllerRegistration, createHooks, type Hooks } from '../../hooks.js';

// Upstream names a controller both ways: `garbagecollector` (its flag name before 1.28) and
// `garbage-collector-controller` (after): both come to `garbagecollector`.
const canonical = (name: string) => name.replace(/-controller$/, '').replaceAll('-', '');

export function controllerSelection(
  list: string,
  known: string[],
  aliases: Record<string, string[] | undefined> = {},
): (name: string) => boolean {
  const entries = list
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const aliasOf = new Map<string, string>();
  for (const [name, names] of Object.entries(aliases))
    for (const a of names ?? []) aliasOf.set(canonical(a), canonical(name));
  const resolve = (name: string) => aliasOf.get(canonical(name)) ?? canonical(name);
  const names = new Set(known.map(canonical));
  for (const entry of entries) {
    const name = resolve(entry.replace(/^-/, ''));
    if (entry !== '*' && !names.has(name)) {
      throw new SkiffError(
        'SKIFF_CONTROLLERS_UNKNOWN',
        `--controllers: "${entry}" is not one of the known controllers (${known.join(', ') || 'none'})`,
        "name controllers the config file's plugins register, or use * for all of them",
      );
    }
  }
  return (controller) => {
    const name = canonical(controller);
    for (const entry of entries) {
      if (entry === '*') continue;
      const negated = entry.startsWith('-');
      if (resolve(negated ? entry.slice(1) : entry) === name) return !negated;
    }
    return entries.includes('*');
  };
}

/**
 * A fresh set of hooks holding only the controllers `list` selects: the ControllerManager runs
 * whatever its hooks register, so selecting happens here and the manager stays as `skiff up` uses it.
 */
export async function selectControllers(hooks: Hooks, list: string): Promise<{ hooks: Hooks; names: string[] }> {
  const all: ControllerRegistration[] = [];
  await hooks.registerControllers.promise({ register: (r) => all.push(r) });
  const enabled = controllerSelection(
    list,
    all.map((r) => r.name),
    Object.fromEntries(all.map((r) => [r.name, r.aliases])),
  );
  const selected = createHooks();
  const chosen = all.filter((r) => enabled(r.name));
  for (const r of chosen) selected.registerControllers.tap(r.name, (registry) => registry.register(r));
  return { hooks: selected, names: chosen.map((r) => r.name) };
}

/**
 * The plugins `skiff controller-manager` sets up: the controller plugins (`controller-*`, by the
 * naming rule of plugins/), the plugins whose manifest names the controller-manager role (the
 * leader election lock), what they depend on, and every third-party plugin (which may bring
 * controllers under any name). The API server's own plugins stay out: authenticators would read
 * its PKI, an audit log would get a second writer, a storage plugin would be loaded for nothing.
 */
export function controllerPlugins(config: ResolvedConfig): ResolvedConfig {
  const byName = new Map(config.plugins.map((p) => [p.name, p]));
  const keep = new Set<string>();
  const add = (name: string) => {
    const plugin = byName.get(name);
    if (!plugin || keep.has(name)) return;
    keep.add(name);
    for (const dep of plugin.manifest.dependencies ?? []) add(dep);
  };
  const wanted = (p: ResolvedConfig['plugins'][number]) =>
    p.name.startsWith('controller-') || p.source !== 'built-in' || p.manifest.roles?.includes('controller-manager');
  for (const p of config.plugins) if (wanted(p)) add(p.name);
  return { ...config, plugins: config.plugins.filter((p) => keep.has(p.name)) };
}
