/**
 * The PKI service over the files under <dataDir>/pki. Nothing is made until something asks: the CA
 * when a certificate is first needed, the serving certificate when the secure port starts, the
 * admin's when its kubeconfig is written, the service-account key pair when a plugin verifies
 * tokens. So a server that serves no HTTPS and verifies no certificate writes no PKI at all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginContext, ServerSettings, ServingIdentity } from 'skiff/sdk';
import type { ClientCredentials, ClientIdentity, Pki, ServiceAccountKeyPair } from 'skiff/sdk/auth';
import { createCertificateAuthority, issueCertificate, type KeyPair, type LeafSpec } from './certificates.js';
import { KeyPool } from './key-pool.js';
import { buildKubeconfig, dialableServer } from './kubeconfig.js';
import {
  ADMIN_IDENTITY,
  clientSpec,
  ensureServiceAccountKey,
  expiryWarnings,
  loadCertificateAuthority,
  loadPair,
  savePair,
  servingSpec,
} from './layout.js';
import { writePrivate } from './private-files.js';

export interface LocalPkiOptions {
  /**
   * This process runs the API server, whose CA it is: the CA is created when there is none, and its
   * key is checked whenever it is read. A component in a process of its own (`skiff
   * controller-manager`) must find the CA the API server trusts, never make another, and may have
   * its certificate without its key.
   */
  ownsCA: boolean;
  /** Where creations and expiry warnings are logged (none: not logged). */
  logger?: PluginContext<unknown>['logger'];
}

export class LocalPki implements Pki {
  readonly dir: string;
  private caPem?: string;
  private signer?: KeyPair;
  private serviceAccount?: ServiceAccountKeyPair;
  private warned = false;
  private readonly keys = new KeyPool();

  constructor(
    readonly dataDir: string,
    private readonly options: LocalPkiOptions,
  ) {
    this.dir = join(dataDir, 'pki');
  }

  /**
   * Makes ahead the keys of the files a serving process creates on its first start and finds
   * missing: the CA's and the service-account key (asked for as the plugins set up: this resolves
   * once they are made), then the serving certificate's and the admin's when the HTTPS port is on
   * with a certificate from here (asked for once storage is open: made meanwhile, in the
   * background). Files are still written only when something asks; a key nothing asks for is
   * dropped with the process.
   */
  async prepareKeys(servingCertificate: ServerSettings['servingCertificate']): Promise<void> {
    if (!this.options.ownsCA) return;
    const missing = (names: string[]) => names.filter((name) => !existsSync(join(this.dir, `${name}.key`)));
    await this.keys.prepare(missing(['ca', 'service-account']));
    if (servingCertificate !== 'provided') return;
    void this.keys.prepare(missing(['apiserver', 'admin']));
  }

  caCertificate(): string {
    if (this.caPem) return this.caPem;
    if (this.options.ownsCA) return this.authority().certPem;
    this.warnExpiries();
    const file = join(this.dir, 'ca.crt');
    if (!existsSync(file)) loadCertificateAuthority(this.dir); // throws SKIFF_PKI_CA_MISSING, saying how to get one
    this.caPem = readFileSync(file, 'utf8');
    return this.caPem;
  }

  clientCredentials(identity: ClientIdentity): ClientCredentials {
    const spec = clientSpec(identity);
    const pair = identity.name ? this.stored(identity.name, spec) : issueCertificate(this.authority(), spec);
    return { caPem: this.caCertificate(), certPem: pair.certPem, keyPem: pair.keyPem };
  }

  serviceAccountKeys(): ServiceAccountKeyPair {
    if (!this.serviceAccount) {
      const created: string[] = [];
      this.serviceAccount = ensureServiceAccountKey(this.dir, created, () => this.keys.take('service-account'));
      this.logCreated(created);
    }
    return this.serviceAccount;
  }

  /** The serving certificate, naming the kubernetes service's ClusterIP too. */
  async servingIdentity(kubernetesServiceIP?: string): Promise<ServingIdentity> {
    await this.keys.settled('apiserver');
    const pair = this.stored('apiserver', servingSpec(kubernetesServiceIP));
    return { cert: pair.certPem, key: pair.keyPem, source: join(this.dir, 'apiserver.crt') };
  }

  /**
   * Writes <dataDir>/kubeconfig for the admin (kubernetes-admin in system:masters) with the address
   * the server actually serves; returns its path. `skiff kubeconfig` reads that address back.
   */
  async writeAdminKubeconfig(server: string): Promise<string> {
    await this.keys.settled('admin');
    const admin = this.clientCredentials(ADMIN_IDENTITY);
    const path = join(this.dataDir, 'kubeconfig');
    writePrivate(
      path,
      buildKubeconfig({
        server: dialableServer(server),
        caPem: admin.caPem,
        user: ADMIN_IDENTITY.user,
        clientCertPem: admin.certPem,
        clientKeyPem: admin.keyPem,
      }),
    );
    return path;
  }

  /** The CA with its key (to sign with): loaded, or created where allowed. */
  private authority(): KeyPair {
    if (this.signer) return this.signer;
    this.warnExpiries();
    const existing = loadPair(this.dir, 'ca');
    // A component's process never makes a CA: this throws SKIFF_PKI_CA_MISSING, saying how to get one.
    if (!existing && !this.options.ownsCA) return loadCertificateAuthority(this.dir);
    this.signer =
      existing ?? this.save('ca', createCertificateAuthority('skiff-ca', 10, new Date(), this.keys.take('ca')));
    this.caPem = this.signer.certPem;
    return this.signer;
  }

  /** A certificate kept as <name>.crt/.key: the one there if the CA signed it, else a new one (which needs the CA's key). */
  private stored(name: string, spec: LeafSpec): KeyPair {
    const kept = loadPair(this.dir, name, { certPem: this.caCertificate(), keyPem: '' });
    return kept ?? this.save(name, issueCertificate(this.authority(), spec, new Date(), this.keys.take(name)));
  }

  private save(name: string, pair: KeyPair): KeyPair {
    const created: string[] = [];
    savePair(this.dir, name, pair, created);
    this.logCreated(created);
    return pair;
  }

  private logCreated(created: string[]): void {
    if (created.length) this.options.logger?.info({ dir: this.dir, created }, 'created in the PKI');
  }

  /** Once per process, when the PKI is first read: certificates that expired or expire within 30 days. */
  private warnExpiries(): void {
    if (this.warned) return;
    this.warned = true;
    for (const warning of expiryWarnings(this.dir)) {
      this.options.logger?.warn(`${warning}: renew it (delete it and restart, or run skiff certs)`);
    }
  }
}
