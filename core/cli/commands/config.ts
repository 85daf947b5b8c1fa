import { Command } from 'commander';
import { pino } from 'pino';
import { describeChains } from '../../chains.js';
import { loadConfig } from '../../config/load.js';
import { preparePlugins } from '../../server/server.js';
import { preparePki } from '../../tls/startup.js';
import { type AdmissionFlags, admissionOptions, admissionOverrides } from './admission-flags.js';

export function configCommand(): Command {
  const config = new Command('config').description('work with config files');
  const check = config
    .command('check')
    .description(
      'validate a config file, set its plugins up (creating the PKI if missing; opening no storage, serving nothing) and print the chains',
    )
    .option('--config <file>', 'the config file (default: config/default.yaml)')
    .option('--data-dir <dir>', 'where data is kept (default: ./data, or server.dataDir in the config)');
  admissionOptions(check).action(async (opts: { config?: string; dataDir?: string } & AdmissionFlags) => {
    const admission = admissionOverrides(opts);
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
    // Plugins such as authn-x509 read the generated PKI at setup: create it if missing, as `skiff up` would.
    preparePki(resolved, logger);
    const prepared = await preparePlugins({ config: resolved, role: 'check', logger });
    out.push('effective chains:');
    for (const [chain, names] of Object.entries(describeChains(prepared.hooks))) {
      out.push(`  ${chain}: ${names.join(', ') || '(none)'}`);
    }
    await prepared.plugins.closeAll();
    process.stdout.write(`${out.join('\n')}\n`);
  });
  return config;
}
