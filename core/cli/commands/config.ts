import { Command } from 'commander';
import { loadConfig } from '../../config/load.js';

export function configCommand(): Command {
  const config = new Command('config').description('work with config files');
  config
    .command('check')
    .description('validate a config file and print the plugins in run order (starts nothing)')
    .option('--config <file>', 'the config file (default: config/default.yaml)')
    .action(async (opts: { config?: string }) => {
      const resolved = await loadConfig(opts.config);
      const out = [
        `config: ${resolved.file}`,
        `storage backend: ${resolved.server.storageBackend}`,
        'plugins, in run order:',
      ];
      resolved.plugins.forEach((p, i) => {
        const deps = p.manifest.dependencies?.length ? ` (needs ${p.manifest.dependencies.join(', ')})` : '';
        out.push(`  ${i + 1}. ${p.name} [${p.source}]${deps} - ${p.manifest.description}`);
      });
      out.push('every chain (authentication, authorization, admission) runs its plugins in this order');
      process.stdout.write(`${out.join('\n')}\n`);
    });
  return config;
}
