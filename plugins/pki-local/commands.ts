/** `skiff certs` and `skiff kubeconfig`: the PKI by hand, for operators and for teaching. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SkiffError } from 'skiff/sdk';
import { nodeIdentity } from 'skiff/sdk/auth';
import { Command } from 'skiff/sdk/cli';
import { issueCertificate, type KeyPair } from './certificates.js';
import { buildKubeconfig, type KubeconfigSpec, kubeconfigServer } from './kubeconfig.js';
import {
  certificateExpiries,
  clientSpec,
  ensurePki,
  expiryWarnings,
  loadCertificateAuthority,
  loadPair,
  PKI_CERTIFICATES,
  savePair,
} from './layout.js';
import { writePrivate } from './private-files.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const pkiDir = (dataDir: string) => join(resolve(dataDir), 'pki');
const DAY = 24 * 3600 * 1000;

function human(ms: number): string {
  const days = Math.floor(ms / DAY);
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
    .action((_opts: unknown, cmd: Command) => checkExpiration(cmd.optsWithGlobals<{ dataDir: string }>().dataDir));
  certs
    .command('client')
    .description('issue a client certificate signed by the CA: CN = user, one O per group')
    .requiredOption('--user <name>', 'user name (the certificate CN)')
    .option('--group <name>', 'a group (the certificate O); repeat for more', collect, [])
    .option('--days <n>', 'validity in days', '365')
    .option('--out-dir <dir>', 'where to write <user>.crt and <user>.key', '.')
    .action((_opts: unknown, cmd: Command) => issueClient(cmd.optsWithGlobals<ClientOptions>()));
  certs
    .command('node')
    .description('issue a kubelet its client certificate: CN = system:node:<name>, O = system:nodes')
    .requiredOption('--name <node>', 'the node name')
    .action((_opts: unknown, cmd: Command) => issueNode(cmd.optsWithGlobals<{ name: string; dataDir: string }>()));
  return certs;
}

function checkExpiration(dataDir: string): void {
  const dir = pkiDir(dataDir);
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
}

interface ClientOptions {
  user: string;
  group: string[];
  days: string;
  outDir: string;
  dataDir: string;
}

function issueClient(opts: ClientOptions): void {
  const ca = loadCertificateAuthority(pkiDir(opts.dataDir));
  const pair = issueCertificate(ca, {
    commonName: opts.user,
    organizations: opts.group,
    usage: 'client',
    notAfter: new Date(Date.now() + Number(opts.days) * DAY),
  });
  const file = opts.user.replace(/[^A-Za-z0-9._-]/g, '_');
  mkdirSync(opts.outDir, { recursive: true });
  writeFileSync(join(opts.outDir, `${file}.crt`), pair.certPem);
  writePrivate(join(opts.outDir, `${file}.key`), pair.keyPem);
  process.stdout.write(`wrote ${join(opts.outDir, `${file}.crt`)} and ${file}.key\n`);
}

/**
 * The node's certificate kept in the PKI as node-<name>.crt/.key, where the kubelet's PKI lookup
 * (PKI.clientCredentials(nodeIdentity(name))) finds it; an existing one is kept.
 */
function issueNode(opts: { name: string; dataDir: string }): void {
  const dir = pkiDir(opts.dataDir);
  const identity = nodeIdentity(opts.name);
  const ca = loadCertificateAuthority(dir);
  const created: string[] = [];
  if (!loadPair(dir, identity.name!, ca))
    savePair(dir, identity.name!, issueCertificate(ca, clientSpec(identity)), created);
  const crt = join(dir, `${identity.name}.crt`);
  process.stdout.write(`${created.length ? 'wrote' : 'kept'} ${crt} and ${identity.name}.key (${identity.user})\n`);
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
  if (!existsSync(written)) return DEFAULT_SERVER;
  const server = kubeconfigServer(readFileSync(written, 'utf8'));
  if (server) return server;
  throw new SkiffError(
    'SKIFF_KUBECONFIG',
    `${written} names no server (clusters[0].cluster.server)`,
    'give --server URL, or delete the file: the next start writes it again',
  );
}

function credentials(opts: KubeconfigOptions, ca: KeyPair): Partial<KubeconfigSpec> {
  if (opts.token) return { token: opts.token };
  if (opts.basic) {
    const colon = opts.basic.indexOf(':');
    return { basic: { username: opts.basic.slice(0, colon), password: opts.basic.slice(colon + 1) } };
  }
  const pair = issueCertificate(ca, { commonName: opts.user, organizations: opts.group, usage: 'client' });
  return { clientCertPem: pair.certPem, clientKeyPem: pair.keyPem };
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
      const server = opts.server ?? servedAddress(opts.dataDir);
      const yaml = buildKubeconfig({ server, caPem: ca.certPem, user: opts.user, ...credentials(opts, ca) });
      if (opts.out) {
        writePrivate(opts.out, yaml);
        process.stdout.write(`wrote ${opts.out} (server ${server})\n`);
      } else process.stdout.write(yaml);
    });
}
