/**
 * authn-x509: client certificates signed by a trusted CA (--client-ca-file, else the PKI's CA),
 * the seed's "HTTPS certificate" authentication. The certificate's CN is the user name and each O a
 * group. What it trusts is what the HTTPS port asks clients for (the client CA). See README.md.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { definePlugin, MissingProviderError, type PluginContext, SkiffError } from 'skiff/sdk';
import { PKI } from 'skiff/sdk/auth';
import { z } from 'zod';
import { parseCertificateBundle, verifyClientCertificate } from './verify.js';

const configSchema = z
  .object({
    /** PEM bundle of trusted client CAs. Default: the PKI's CA (pki-local's <dataDir>/pki/ca.crt). */
    clientCAFile: z.string().min(1).optional(),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

function readBundle(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SkiffError(
      'SKIFF_X509_CA_UNREADABLE',
      `cannot read the client CA file ${path}: ${(err as Error).message}`,
      'check the path given to --client-ca-file / plugins.authn-x509.config.clientCAFile',
    );
  }
}

/** The PKI's CA, from the plugin providing PKI (list it before this one in the config file). */
function pkiBundle(ctx: PluginContext<Config>): string {
  try {
    return ctx.use(PKI).caCertificate();
  } catch (err) {
    if (err instanceof MissingProviderError) throw err.adding('or give --client-ca-file (clientCAFile)');
    if (!(err instanceof SkiffError) || err.code !== 'SKIFF_PLUGIN_MISSING_PROVIDER') throw err;
    throw new SkiffError(err.code, err.message, `${err.fix}; or give --client-ca-file (clientCAFile)`);
  }
}

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
  config: configSchema,
  setup(ctx) {
    const file = ctx.config.clientCAFile && resolve(ctx.config.clientCAFile);
    const pem = file ? readBundle(file) : pkiBundle(ctx);
    const source = file ?? 'the PKI';
    const cas = parseCertificateBundle(pem, source);
    // The TLS listener advertises these CAs in its CertificateRequest, so clients pick the right cert.
    ctx.provide.clientCA(() => pem);
    ctx.logger.info({ source, cas: cas.length }, 'client CA bundle loaded');
    ctx.provide.authenticator((request) => {
      const leaf = request.peerCertificates?.[0];
      if (!leaf) return undefined;
      return verifyClientCertificate(leaf, cas, new Date());
    });
  },
});
