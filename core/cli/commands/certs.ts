/** `skiff certs` and `skiff kubeconfig`: the PKI by hand, for operators and for teaching. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { readKubeconfig } from '../../client/kubeconfig.js';
import { issueCertificate } from '../../tls/certificates.js';
import { buildKubeconfig } from '../../tls/kubeconfig.js';
import {
  certificateExpiries,
  ensurePki,
  expiryWarnings,
  loadCertificateAuthority,
  PKI_CERTIFICATES,
  writePrivate,
} from '../../tls/layout.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const pkiDir = (dataDir: string) => join(resolve(dataDir), 'pki');

function human(ms: number): string {
  const days = Math.floor(ms / (24 * 3600 * 1000));
  if (days >= 365) return `${Math.floor(days / 365)}y`;
  return days >= 0 ? `${days}d` : 'expired';
}

export function certsCommand(): Command {
  // --data-dir belongs to `certs` and is read by every subcommand (optsWithGlobals).
  const certs = new Command('certs')
    .description('create the PKI under <data-dir>/pki (what is missing), or inspect it')
    .option('--data-dir <dir>', 'data directory (default: ./data)', './data')
    .configureHelp({ showGlobalOptions: true })
    .action((opts: { dataDir: string }) => {
      const pki = ensurePki(resolve(opts.dataDir), { components: true });
      const out = pki.created.length
        ? [`created in ${pki.dir}:`, ...pki.created.map((f) => `  ${f}`)]
        : [`the PKI in ${pki.dir} is complete; nothing created`];
      process.stdout.write(`${out.join('\n')}\n`);
    });
  certs
    .command('check-expiration')
    .description('list the certificates and when they expire')
    .action((_opts: unknown, cmd: Command) => {
      const dir = pkiDir(cmd.optsWithGlobals<{ dataDir: string }>().dataDir);
      loadCertificateAuthority(dir);
      const now = Date.now();
      const rows = certificateExpiries(dir, PKI_CERTIFICATES).map((c) => [
        `${c.name}.crt`,
        c.notAfter.toUTCString(),
        human(c.notAfter.getTime() - now),
        c.subject,
      ]);
      const table = [['CERTIFICATE', 'EXPIRES', 'RESIDUAL TIME', 'SUBJECT'], ...rows];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      const lines = table.map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('   ')
          .trimEnd(),
      );
      const warnings = expiryWarnings(dir).map((w) => `WARNING: ${w}`);
      process.stdout.write(`${[...lines, ...warnings].join('\n')}\n`);
    });
  certs
    .command('client')
    .description('issue a client certificate signed by the CA: CN = user, one O per group')
    .requiredOption('--user <name>', 'user name (the certificate CN)')
    .option('--group <name>', 'a group (the certificate O); repeat for more', collect, [])
    .option('--days <n>', 'validity in days', '365')
    .option('--out-dir <dir>', 'where to write <user>.crt and <user>.key', '.')
    .action((_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{
        user: string;
        group: string[];
        days: string;
        outDir: string;
        dataDir: string;
      }>();
      const ca = loadCertificateAuthority(pkiDir(opts.dataDir));
      const now = new Date();
      const pair = issueCertificate(ca, {
        commonName: opts.user,
        organizations: opts.group,
        usage: 'client',
        notAfter: new Date(now.getTime() + Number(opts.days) * 24 * 3600 * 1000),
      });
      const file = opts.user.replace(/[^A-Za-z0-9._-]/g, '_');
      mkdirSync(opts.outDir, { recursive: true });
      writeFileSync(join(opts.outDir, `${file}.crt`), pair.certPem);
      writePrivate(join(opts.outDir, `${file}.key`), pair.keyPem);
      process.stdout.write(`wrote ${join(opts.outDir, `${file}.crt`)} and ${file}.key\n`);
    });
  return certs;
}

interface KubeconfigOptions {
  user: string;
  group: string[];
  token?: string;
  basic?: string;
  server?: string;
  out?: string;
  dataDir: string;
}

/** The default config's address, for a data directory whose server has not started yet. */
const DEFAULT_SERVER = 'https://127.0.0.1:6443';

/**
 * The address the server serves: `skiff up` / `skiff apiserver` write it into <data-dir>/kubeconfig
 * at every start, after their flags, config file and "auto" ports are all applied (as k3s derives
 * every kubeconfig from the one it writes). Before any start, the default config's address.
 */
function servedAddress(dataDir: string): string {
  const written = join(resolve(dataDir), 'kubeconfig');
  return existsSync(written) ? readKubeconfig(written).server : DEFAULT_SERVER;
}

export function kubeconfigCommand(): Command {
  return new Command('kubeconfig')
    .description('write a kubeconfig for a user: a client certificate signed by the CA, a token, or a password')
    .requiredOption('--user <name>', 'user name')
    .option('--group <name>', 'a group (client certificates only); repeat for more', collect, [])
    .option('--token <token>', 'authenticate with this bearer token instead of a certificate')
    .option('--basic <user:password>', 'authenticate with basic credentials instead of a certificate')
    .option(
      '--server <url>',
      'the API server (default: the address the server serves, from <data-dir>/kubeconfig; else https://127.0.0.1:6443)',
    )
    .option('--out <file>', 'write here instead of stdout (mode 0600)')
    .option('--data-dir <dir>', 'data directory holding the CA (default: ./data)', './data')
    .action((opts: KubeconfigOptions) => {
      const ca = loadCertificateAuthority(pkiDir(opts.dataDir));
      let credentials: Partial<Parameters<typeof buildKubeconfig>[0]>;
      if (opts.token) credentials = { token: opts.token };
      else if (opts.basic) {
        const colon = opts.basic.indexOf(':');
        credentials = { basic: { username: opts.basic.slice(0, colon), password: opts.basic.slice(colon + 1) } };
      } else {
        const pair = issueCertificate(ca, { commonName: opts.user, organizations: opts.group, usage: 'client' });
        credentials = { clientCertPem: pair.certPem, clientKeyPem: pair.keyPem };
      }
      const server = opts.server ?? servedAddress(opts.dataDir);
      const yaml = buildKubeconfig({ server, caPem: ca.certPem, user: opts.user, ...credentials });
      if (opts.out) {
        writePrivate(opts.out, yaml);
        process.stdout.write(`wrote ${opts.out} (server ${server})\n`);
      } else process.stdout.write(yaml);
    });
}
