/** `skiff up` and `skiff apiserver`: load the config, build the server, listen, stop gracefully on a signal. */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { describeChains } from '../../chains.js';
import { loadConfig } from '../../config/load.js';
import type { Port } from '../../config/schema.js';
import { SkiffError } from '../../errors.js';
import { createServer } from '../../server/server.js';
import { preparePki, writeAdminKubeconfig } from '../../tls/startup.js';
import { bool } from '../flag-values.js';
import { stopOnSignals } from '../stop-on-signals.js';
import { type AdmissionFlags, admissionOptions, admissionOverrides } from './admission-flags.js';

interface ServeOptions extends AdmissionFlags {
  config?: string;
  dataDir?: string;
  bindAddress?: string;
  securePort?: Port;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tlsMinVersion?: string;
  tlsCipherSuites?: string[];
  insecureBindAddress?: string;
  insecurePort?: Port;
  storageBackend?: string;
  maxRequestsInflight?: number;
  maxMutatingRequestsInflight?: number;
  etcdServers?: string;
  etcdPrefix?: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  clientCaFile?: string;
  tokenAuthFile?: string;
  basicAuthFile?: string;
  anonymousAuth?: boolean;
  serviceAccountIssuer?: string;
  serviceAccountKeyFile?: string[];
  serviceAccountSigningKeyFile?: string;
  apiAudiences?: string;
  auditLogPath?: string;
  auditPolicyFile?: string;
  auditLogMaxsize?: string;
  auditLogMaxbackup?: string;
  authorizationMode?: string;
  authorizationConfig?: string;
  authorizationPolicyFile?: string;
  abacStrict?: boolean;
  logLevel: string;
}

function port(value: string): Port {
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError('expected a port number from 0 (off) to 65535, or "auto" for a free port');
  }
  return n;
}

function count(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, 0 for no limit');
  return Number(value);
}

const AUTHORIZATION_MODES: Record<string, string> = {
  AlwaysAllow: 'authz-always-allow',
  AlwaysDeny: 'authz-always-deny',
  ABAC: 'authz-abac',
  // Skiff's own mode: upstream's bootstrap roles for the components, from a file (not RBAC).
  BootstrapRoles: 'authz-bootstrap-roles',
};

type Authorizers = { name: string; config?: Record<string, unknown> }[];

/**
 * --authorization-config FILE: upstream's AuthorizationConfiguration (apiserver.config.k8s.io/v1),
 * `authorizers: [{type, name}]` in chain order. Upstream accepts no ABAC there; Skiff does, with the
 * policy file under `abac: {policyFile}` (or from --authorization-policy-file).
 */
function authorizationConfig(file: string, opts: ServeOptions): Authorizers {
  let doc: { kind?: unknown; authorizers?: { type?: string; name?: string; abac?: { policyFile?: string } }[] };
  try {
    doc = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_CONFIG',
      `cannot read ${file}: ${(err as Error).message}`,
      'give a YAML AuthorizationConfiguration',
    );
  }
  if (doc.kind !== 'AuthorizationConfiguration' || !Array.isArray(doc.authorizers) || doc.authorizers.length === 0) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_CONFIG',
      `${file}: expected kind AuthorizationConfiguration with a non-empty authorizers list`,
      'write apiVersion: apiserver.config.k8s.io/v1, kind: AuthorizationConfiguration, authorizers: [{type: ABAC, name: abac}, ...]',
    );
  }
  const names = new Set<string>();
  return doc.authorizers.map((a, i) => {
    if (!a.name || names.has(a.name)) {
      throw new SkiffError(
        'SKIFF_AUTHORIZATION_CONFIG',
        `${file}: authorizers[${i}].name must be set and unique`,
        'give every authorizer its own name',
      );
    }
    names.add(a.name);
    const policyFile = a.abac?.policyFile ?? opts.authorizationPolicyFile;
    return modeToPlugin(a.type ?? '', policyFile, opts.abacStrict, `${file}: authorizers[${i}].type`);
  });
}

function modeToPlugin(mode: string, policyFile: string | undefined, strict: boolean | undefined, where: string) {
  const name = AUTHORIZATION_MODES[mode.trim()];
  if (!name) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_MODE',
      `${where}: unknown or unsupported mode "${mode}"`,
      `use one of ${Object.keys(AUTHORIZATION_MODES).join(', ')}`,
    );
  }
  if (name !== 'authz-abac') return { name };
  if (!policyFile) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_MODE',
      `${where} includes ABAC, but no --authorization-policy-file was given`,
      'add --authorization-policy-file FILE (one JSON policy object per line)',
    );
  }
  return { name, config: { policyFile, strict: strict ?? false } };
}

/** --authorization-mode=ABAC,AlwaysDeny → the authorizer plugins, in that order. */
function authorizers(opts: ServeOptions): Authorizers | undefined {
  if (opts.authorizationMode && opts.authorizationConfig) {
    throw new SkiffError(
      'SKIFF_AUTHORIZATION_MODE',
      '--authorization-mode and --authorization-config cannot be used together',
      'keep one of them, as upstream requires',
    );
  }
  if (opts.authorizationConfig) return authorizationConfig(opts.authorizationConfig, opts);
  if (!opts.authorizationMode) return undefined;
  return opts.authorizationMode
    .split(',')
    .map((mode) => modeToPlugin(mode, opts.authorizationPolicyFile, opts.abacStrict, '--authorization-mode'));
}

/** Upstream's --etcd-* flags configure (and turn on) storage-etcd. */
function etcdFlags(opts: ServeOptions): Record<string, unknown> | undefined {
  const c: Record<string, unknown> = {};
  if (opts.etcdServers)
    c.servers = opts.etcdServers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (opts.etcdPrefix !== undefined) c.prefix = opts.etcdPrefix;
  if (opts.etcdCafile) c.caFile = opts.etcdCafile;
  if (opts.etcdCertfile) c.certFile = opts.etcdCertfile;
  if (opts.etcdKeyfile) c.keyFile = opts.etcdKeyfile;
  return Object.keys(c).length ? c : undefined;
}

/** Upstream's authentication flags, each of which turns on the plugin that implements it. */
function pluginFlags(opts: ServeOptions): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const etcd = etcdFlags(opts);
  if (etcd) out['storage-etcd'] = etcd;
  if (opts.clientCaFile) out['authn-x509'] = { clientCAFile: opts.clientCaFile };
  if (opts.tokenAuthFile) out['authn-token-file'] = { tokenAuthFile: opts.tokenAuthFile };
  if (opts.basicAuthFile) out['authn-basic-file'] = { basicAuthFile: opts.basicAuthFile };
  if (opts.anonymousAuth) out['authn-anonymous'] = {};
  const sa: Record<string, unknown> = {};
  if (opts.serviceAccountIssuer) sa.issuer = opts.serviceAccountIssuer;
  if (opts.serviceAccountKeyFile?.length) sa.keyFiles = opts.serviceAccountKeyFile;
  if (opts.serviceAccountSigningKeyFile) sa.signingKeyFile = opts.serviceAccountSigningKeyFile;
  if (opts.apiAudiences) sa.apiAudiences = opts.apiAudiences.split(',').filter(Boolean);
  if (Object.keys(sa).length) out['authn-service-account'] = sa;
  if (opts.auditLogPath) {
    out['audit-log'] = {
      path: opts.auditLogPath,
      ...(opts.auditPolicyFile ? { policyFile: opts.auditPolicyFile } : {}),
      ...(opts.auditLogMaxsize ? { maxSizeMB: Number(opts.auditLogMaxsize) } : {}),
      ...(opts.auditLogMaxbackup ? { maxBackups: Number(opts.auditLogMaxbackup) } : {}),
    };
  }
  return out;
}

async function serve(role: string, opts: ServeOptions): Promise<void> {
  const logger = pino({ name: 'skiff', level: opts.logLevel });
  const admission = admissionOverrides(opts);
  const config = await loadConfig(opts.config, {
    dataDir: opts.dataDir,
    bindAddress: opts.bindAddress,
    securePort: opts.securePort,
    tlsCertFile: opts.tlsCertFile,
    tlsPrivateKeyFile: opts.tlsPrivateKeyFile,
    tlsMinVersion: opts.tlsMinVersion,
    tlsCipherSuites: opts.tlsCipherSuites,
    insecureBindAddress: opts.insecureBindAddress,
    insecurePort: opts.insecurePort,
    // As upstream, naming etcd servers means storing in etcd (unless --storage-backend says otherwise).
    storageBackend: opts.storageBackend ?? (opts.etcdServers ? 'etcd' : undefined),
    maxRequestsInflight: opts.maxRequestsInflight,
    maxMutatingRequestsInflight: opts.maxMutatingRequestsInflight,
    ...admission,
    plugins: { ...pluginFlags(opts), ...admission.plugins },
    authorizers: authorizers(opts),
  });
  const started = Date.now();
  const { pki, identityProvider } = preparePki(config, logger);
  const server = await createServer({ config, role, logger, identityProvider });
  logger.info(
    { config: config.file, plugins: config.plugins.map((p) => p.name), chains: describeChains(server.hooks) },
    'plugins loaded',
  );
  const addresses = await server.listen();
  if (addresses.secure) {
    const { address, port } = addresses.secure;
    logger.info(`serving HTTPS on https://${hostPort(address, port)}`);
    if (pki && !config.server.tlsCertFile) {
      const path = writeAdminKubeconfig(pki, config.server.dataDir, `https://${hostPort(address, port)}`);
      logger.info(`admin kubeconfig written to ${path}: kubectl --kubeconfig ${path} get namespaces`);
    }
  }
  if (addresses.insecure) {
    const { address, port } = addresses.insecure;
    logger.warn(
      `serving the insecure port on http://${hostPort(address, port)}: every request acts as an unrestricted admin`,
    );
  }
  logger.info({ role, dataDir: config.server.dataDir, ms: Date.now() - started }, 'ready');
  stopOnSignals(logger, 'shutting down', () => server.close());
}

const hostPort = (address: string, port: number) =>
  address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;

function serveCommand(role: string, description: string): Command {
  const command = new Command(role)
    .description(description)
    .option('--config <file>', 'config file (default: config/default.yaml)')
    .option('--data-dir <dir>', 'where data is kept (default: ./data, or server.dataDir in the config)')
    .option('--bind-address <ip>', 'address of the HTTPS port (default: 127.0.0.1)')
    .option('--secure-port <port>', 'HTTPS port; 0 turns it off, "auto" picks a free port (default: 6443)', port)
    .option('--tls-cert-file <file>', 'serving certificate (default: generated under <data-dir>/pki)')
    .option('--tls-private-key-file <file>', 'key of the serving certificate')
    .option(
      '--tls-min-version <version>',
      'lowest TLS version served: VersionTLS10, VersionTLS11, VersionTLS12 (default), VersionTLS13',
    )
    .option(
      '--tls-cipher-suites <list>',
      "comma-separated TLS 1.2 cipher suites by IANA name (default: Go's, ECDHE with AES-GCM, ChaCha20, AES-CBC)",
      (v: string) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
    )
    .option('--insecure-bind-address <ip>', 'address of the insecure port (default: 127.0.0.1)')
    .option('--insecure-port <port>', 'plain-HTTP admin port; 0 (default) turns it off, "auto" picks a free port', port)
    .option('--client-ca-file <file>', 'trust client certificates signed by this CA (turns on authn-x509)')
    .option('--token-auth-file <file>', 'static bearer tokens, CSV (turns on authn-token-file)')
    .option('--basic-auth-file <file>', 'static passwords, CSV; removed upstream in 1.19 (turns on authn-basic-file)')
    .option('--anonymous-auth <bool>', 'requests without credentials act as system:anonymous (default: false)', bool)
    .option('--service-account-issuer <url>', 'issuer of service-account tokens (turns on authn-service-account)')
    .option(
      '--service-account-key-file <file>',
      'public key verifying service-account tokens; repeatable',
      (v: string, p: string[] = []) => [...p, v],
    )
    .option('--service-account-signing-key-file <file>', 'private key signing service-account tokens')
    .option('--api-audiences <list>', 'comma-separated audiences the API accepts in service-account tokens')
    .option('--audit-log-path <file>', 'write audit events here (turns on audit-log)')
    .option('--audit-policy-file <file>', 'an audit.k8s.io/v1 Policy (default: every request at Metadata)')
    .option('--audit-log-maxsize <MB>', 'rotate the audit log at this size (default 100)')
    .option('--audit-log-maxbackup <n>', 'rotated audit logs kept (default 10)')
    .option('--authorization-mode <modes>', 'authorizers, in order: AlwaysAllow, AlwaysDeny, ABAC, BootstrapRoles')
    .option('--authorization-config <file>', "upstream's AuthorizationConfiguration: authorizers: [{type, name}]")
    .option('--authorization-policy-file <file>', 'the ABAC policy file (with --authorization-mode=ABAC)')
    .option('--abac-strict', 'unknown keys in the ABAC policy file stop start-up instead of being warned about')
    .option(
      '--max-requests-inflight <n>',
      'read-only requests served at once, watches and other long-running requests apart; more get 429 (default: 400, 0: no limit)',
      count,
    )
    .option(
      '--max-mutating-requests-inflight <n>',
      'mutating requests served at once; more get 429 (default: 200, 0: no limit)',
      count,
    )
    .option('--storage-backend <name>', 'storage backend: sqlite, etcd, memory, ... (default: sqlite)')
    .option('--etcd-servers <urls>', 'comma-separated etcd client URLs; selects the etcd backend (storage-etcd)')
    .option('--etcd-prefix <prefix>', "where the API's /registry keys live in etcd (default: /registry)")
    .option('--etcd-cafile <file>', "CA certificate that signed the etcd servers' certificates")
    .option('--etcd-certfile <file>', 'client certificate for etcd')
    .option('--etcd-keyfile <file>', 'key of the etcd client certificate')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'info');
  return admissionOptions(command).action((opts: ServeOptions) => serve(role, opts));
}

export function serveCommands(): Command[] {
  return [
    serveCommand(
      'up',
      'run everything in one process: API server, controllers and (as they arrive) scheduler and nodes',
    ),
    serveCommand('apiserver', 'run the API server alone'),
  ];
}
