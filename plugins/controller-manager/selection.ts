/**
 * upstream's --controllers list: `*` turns on every controller, `foo` turns foo on, `-foo` turns it
 * off; the first entry naming a controller decides, and without `*` only named ones run. Names are
 * Skiff's registration names (`namespace`, `garbagecollector`) or upstream's current ones
 * (`namespace-controller`, `garbage-collector-controller`); dashes do not count.
 */
import { SkiffError } from 'skiff/sdk';
import type { SelectablePlugin } from 'skiff/sdk/client';
import type { ControllerSource } from './manager.js';

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
 * A source holding only the controllers `list` selects: the ControllerManager runs whatever its
 * source gives, so selecting happens here and the manager stays as `skiff up` uses it.
 */
export async function selectControllers(
  source: ControllerSource,
  list: string,
): Promise<{ source: ControllerSource; names: string[] }> {
  const all = await source.controllers();
  const enabled = controllerSelection(
    list,
    all.map((r) => r.name),
    Object.fromEntries(all.map((r) => [r.name, r.aliases])),
  );
  const chosen = all.filter((r) => enabled(r.name));
  return { source: { controllers: async () => [...chosen] }, names: chosen.map((r) => r.name) };
}

/**
 * The plugins `skiff controller-manager` sets up (setUpComponentPlugins' `select`; what they depend
 * on comes along): the controller plugins (`controller-*`, by the naming rule of plugins/), the
 * plugins whose manifest names the controller-manager role (the leader election lock, the PKI with
 * the controller manager's client certificate, this plugin), and every third-party plugin (which
 * may bring controllers under any name). The API server's own plugins stay out:
 * authenticators would read its PKI, an audit log would get a second writer, a storage plugin would
 * be loaded for nothing.
 */
export function controllerPlugins(plugin: SelectablePlugin): boolean {
  return plugin.name.startsWith('controller-') || !plugin.builtIn || plugin.roles.includes('controller-manager');
}
