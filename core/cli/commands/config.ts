/** `skiff config check`: validate a config file, set its plugins up, print the order, the chains and what each plugin uses. */
import { Command } from 'commander';
import { pino } from 'pino';
import { describeChains } from '../../chains.js';
import { loadConfig, type ResolvedConfig } from '../../config/load.js';
import type { AnyManifest } from '../../config/manifests.js';
import { preparePlugins } from '../../server/server.js';
import { type AdmissionFlags, admissionOptions, admissionOverrides } from './admission-flags.js';

/**
 * What each plugin declares on its manifest for the command line and the chains: the flags,
 * commands, authorization mode and admission name it owns.
 */
export function declaredPoints(manifest: AnyManifest): string[] {
  const out: string[] = [];
  if (manifest.flags?.length) out.push(`flags ${manifest.flags.map((f) => f.flag.split(' ')[0]).join(' ')}`);
  if (manifest.commands?.length) out.push(`commands ${manifest.commands.map((c) => c.name).join(' ')}`);
  if (manifest.authorizationMode) out.push(`authorization mode ${manifest.authorizationMode}`);
  if (manifest.admissionName) out.push(`admission name ${manifest.admissionName}`);
  return out;
}

/**
 * What a plugin that used no point at check does instead: one whose work starts only in the
 * processes of its roles (a controller manager, a kubelet) says so rather than seem to do nothing.
 */
function unused(manifest: AnyManifest): string {
  const roles = manifest.roles?.filter((r: string) => r !== 'check') ?? [];
  return roles.length
    ? `(none at check: starts its work in ${roles.map((r: string) => `skiff ${r}`).join(', ')})`
    : '(none)';
}

/** One line per plugin: the contribution points its setup used, then what its manifest declares. */
export function describePoints(config: ResolvedConfig, points: ReadonlyMap<string, readonly string[]>): string[] {
  return config.plugins.map((p) => {
    const used = points.get(p.name) ?? [];
    const declared = declaredPoints(p.manifest);
    const parts = [used.length ? used.join(', ') : unused(p.manifest), ...declared];
    return `  ${p.name}: ${parts.join('; ')}`;
  });
}

export function configCommand(manifests: readonly AnyManifest[]): Command {
  const config = new Command('config').description('work with config files');
  const check = config
    .command('check')
    .description(
      'validate a config file, set its plugins up (creating the PKI if missing; opening no storage, serving nothing), print the chains and the contribution points each plugin uses',
    )
    .option('--config <file>', 'the config file (default: config/default.yaml)')
    .option('--data-dir <dir>', 'where data is kept (default: ./data, or server.dataDir in the config)');
  admissionOptions(check).action(async (opts: { config?: string; dataDir?: string } & AdmissionFlags) => {
    const admission = admissionOverrides(opts, manifests);
    const resolved = await loadConfig(opts.config, { ...admission, dataDir: opts.dataDir });
    const out = [
      `config: ${resolved.file}`,
      `storage backend: ${resolved.server.storageBackend}`,
      'plugins, in run order:',
    ];
    resolved.plugins.forEach((p, i) => {
      const deps = p.manifest.dependencies?.length ? ` (needs ${p.manifest.dependencies.join(', ')})` : '';
      out.push(`  ${i + 1}. ${p.name} [${p.source}]${deps} - ${p.manifest.description}`);
    });
    const logger = pino({ level: 'silent' });
    const prepared = await preparePlugins({ config: resolved, role: 'check', logger });
    out.push('effective chains:');
    for (const [chain, names] of Object.entries(describeChains(prepared.hooks))) {
      out.push(`  ${chain}: ${names.join(', ') || '(none)'}`);
    }
    out.push('contribution points, per plugin:', ...describePoints(resolved, prepared.plugins.points));
    await prepared.plugins.closeAll();
    process.stdout.write(`${out.join('\n')}\n`);
  });
  return config;
}
