/**
 * authn-x509: client certificates signed by a trusted CA (--client-ca-file), the seed's "HTTPS
 * certificate" authentication. The certificate's CN is the user name and each O a group. See README.md.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { definePlugin, SkiffError } from 'skiff/sdk';
import { z } from 'zod';
import { parseCertificateBundle, verifyClientCertificate } from './verify.js';

export default definePlugin({
  name: 'authn-x509',
  description: 'Client certificates signed by the client CA: CN = user, O = groups (--client-ca-file).',
  flags: [
    {
      flag: '--client-ca-file <file>',
      help: 'trust client certificates signed by this CA (turns on authn-x509)',
      toConfig: (file) => ({ clientCAFile: file }),
      enables: true,
    },
  ],
  // Its default CA is the one Skiff generates under <dataDir>/pki.
  readsPki: true,
  config: z
    .object({
      /** PEM bundle of trusted client CAs. Default: the CA Skiff generated under <dataDir>/pki. */
      clientCAFile: z.string().min(1).optional(),
    })
    .strict(),
  setup(ctx) {
    const path = resolve(ctx.config.clientCAFile ?? `${ctx.server.dataDir}/pki/ca.crt`);
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (err) {
      throw new SkiffError(
        'SKIFF_X509_CA_UNREADABLE',
        `cannot read the client CA file ${path}: ${(err as Error).message}`,
        ctx.config.clientCAFile
          ? 'check the path given to --client-ca-file / plugins.authn-x509.config.clientCAFile'
          : 'run `skiff certs` (or start with `skiff up`, which creates the PKI) before enabling authn-x509, or set clientCAFile',
      );
    }
    const cas = parseCertificateBundle(pem, path);
    // The TLS listener advertises these CAs in its CertificateRequest, so clients pick the right cert.
    ctx.provide.clientCA(() => pem);
    ctx.logger.info({ file: path, cas: cas.length }, 'client CA bundle loaded');
    ctx.provide.authenticator((request) => {
      const leaf = request.peerCertificates?.[0];
      if (!leaf) return undefined;
      return verifyClientCertificate(leaf, cas, new Date());
    });
  },
});
