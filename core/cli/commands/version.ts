import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { KUBERNETES_VERSION } from '../../api/version.js';

export function skiffVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function versionCommand(): Command {
  return new Command('version')
    .description('print the Skiff version and the Kubernetes version it serves')
    .action(() => {
      process.stdout.write(`Skiff v${skiffVersion()}\nKubernetes API ${KUBERNETES_VERSION.gitVersion}\n`);
    });
}
