/**
 * pki-local: a certificate authority in files under <dataDir>/pki, as kubeadm and k3s keep one. It
 * gives the HTTPS port its certificate (unless --tls-cert-file is given), offers the PKI service
 * (client certificates for the controller manager, the scheduler, kubelets; the CA; the
 * service-account key pair), writes the admin kubeconfig once the server serves, and adds
 * `skiff certs` and `skiff kubeconfig`. See README.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definePlugin, type PluginContext } from 'skiff/sdk';
import { PKI } from 'skiff/sdk/auth';
import { certsCommand, kubeconfigCommand } from './commands.js';
import { httpsUrl } from './kubeconfig.js';
import { LocalPki } from './local-pki.js';

/**
 * Where the PKI lives: the data dir, except for `skiff config check`, which must leave nothing
 * behind: it gets a throwaway CA in a temp dir, removed when the check ends.
 */
function pkiHome(ctx: PluginContext<Record<string, never>>): string {
  if (ctx.server.role !== 'check') return ctx.server.dataDir;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-check-pki-'));
  ctx.onClose(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The processes that run the API server own its CA; any other role only reads it. */
const SERVING_ROLES = ['up', 'apiserver', 'check'];

export default definePlugin({
  name: 'pki-local',
  description:
    'A CA under <dataDir>/pki: the serving certificate, client certificates, service-account keys, the admin kubeconfig; skiff certs and skiff kubeconfig.',
  provides: [PKI],
  // Components in processes of their own (`skiff controller-manager`, ...) find their client certificates here.
  roles: ['up', 'apiserver', 'controller-manager', 'scheduler', 'kubelet'],
  commands: [
    { name: 'certs', build: certsCommand },
    { name: 'kubeconfig', build: kubeconfigCommand },
  ],
  async setup(ctx) {
    const pki = new LocalPki(pkiHome(ctx), {
      ownsCA: SERVING_ROLES.includes(ctx.server.role),
      logger: ctx.logger,
    });
    // A first start's keys, made side by side before (or while) the plugins after this one ask for them.
    if (ctx.server.role !== 'check') await pki.prepareKeys(ctx.server.servingCertificate);
    ctx.provide.service(PKI, pki);
    let served = false;
    ctx.provide.servingIdentity((request) => {
      served = true;
      return pki.servingIdentity(request.kubernetesServiceIP);
    });
    // Written once the port is known (`--secure-port auto`), with the address actually served.
    ctx.onReady(async () => {
      if (!served) return;
      const path = await pki.writeAdminKubeconfig(httpsUrl(ctx.server.advertiseAddress, ctx.server.advertisePort));
      ctx.logger.info(`admin kubeconfig written to ${path}: kubectl --kubeconfig ${path} get namespaces`);
    });
  },
});
