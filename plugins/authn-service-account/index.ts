/**
 * authn-service-account: the tokens pods use. Verifies RS256 service-account JWTs (upstream
 * --service-account-key-file, --service-account-issuer, --api-audiences) and serves the TokenRequest
 * API (serviceaccounts/token, so `kubectl create token NAME` works). See README.md.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { definePlugin, errors, type FlagSpec, type PluginContext, SkiffError } from 'skiff/sdk';
import type { KubeObject, SubresourceRequest } from 'skiff/sdk/api';
import { bearerToken, PKI, type ServiceAccountKeyPair } from 'skiff/sdk/auth';
import { z } from 'zod';
import { binding } from './binding.js';
import { authenticateToken, issueToken, type Lookup, type TokenSettings } from './tokens.js';

const configSchema = z
  .object({
    /** Upstream --service-account-issuer. */
    issuer: z.string().min(1).default('https://kubernetes.default.svc.cluster.local'),
    /** Upstream --api-audiences; default: the issuer. */
    apiAudiences: z.array(z.string().min(1)).optional(),
    /** Upstream --service-account-signing-key-file; default: the PKI's (pki-local: <dataDir>/pki/service-account.key). */
    signingKeyFile: z.string().min(1).optional(),
    /** Upstream --service-account-key-file (repeatable); default: the PKI's (<dataDir>/pki/service-account.pub). */
    keyFiles: z.array(z.string().min(1)).optional(),
    /** Upstream --service-account-max-token-expiration, in seconds. */
    maxExpirationSeconds: z
      .number()
      .int()
      .positive()
      .default(48 * 3600),
  })
  .strict();

function readKey(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SkiffError(
      'SKIFF_SA_KEY_UNREADABLE',
      `cannot read the service-account ${what} ${path}: ${(err as Error).message}`,
      'check the path given to --service-account-signing-key-file / --service-account-key-file (plugins.authn-service-account.config.signingKeyFile / keyFiles)',
    );
  }
}

/** The PKI's key pair, from the plugin providing PKI (list it before this one in the config file). */
function pkiKeys(ctx: PluginContext<z.infer<typeof configSchema>>): ServiceAccountKeyPair {
  try {
    return ctx.use(PKI).serviceAccountKeys();
  } catch (err) {
    if (!(err instanceof SkiffError) || err.code !== 'SKIFF_PLUGIN_MISSING_PROVIDER') throw err;
    throw new SkiffError(
      err.code,
      err.message,
      `${err.fix}; or give --service-account-signing-key-file and --service-account-key-file`,
    );
  }
}

const MIN_EXPIRATION = 600;

/** Upstream's service-account flags; any of them turns the plugin on. */
const flags: FlagSpec[] = [
  {
    flag: '--service-account-issuer <url>',
    help: 'issuer of service-account tokens (turns on authn-service-account)',
    toConfig: (issuer) => ({ issuer }),
    enables: true,
  },
  {
    flag: '--service-account-key-file <file>',
    help: 'public key verifying service-account tokens; repeatable',
    parse: (file, previous) => [...((previous as string[] | undefined) ?? []), file],
    toConfig: (files) => ((files as string[]).length ? { keyFiles: files } : undefined),
    enables: true,
  },
  {
    flag: '--service-account-signing-key-file <file>',
    help: 'private key signing service-account tokens',
    toConfig: (signingKeyFile) => ({ signingKeyFile }),
    enables: true,
  },
  {
    flag: '--api-audiences <list>',
    help: 'comma-separated audiences the API accepts in service-account tokens',
    toConfig: (list) => ({ apiAudiences: String(list).split(',').filter(Boolean) }),
    enables: true,
  },
];

export default definePlugin({
  name: 'authn-service-account',
  description: 'Service-account JWTs (RS256): verification, and the TokenRequest API (kubectl create token).',
  dependencies: ['api-core-v1'],
  config: configSchema,
  flags,
  setup(ctx) {
    const c = ctx.config;
    // A key not given comes from the PKI, as kubeadm's sa.key and sa.pub.
    const pki = c.signingKeyFile && c.keyFiles ? undefined : pkiKeys(ctx);
    const privateKey = c.signingKeyFile ? readKey(resolve(c.signingKeyFile), 'signing key') : pki!.privateKeyPem;
    const publicKeys = c.keyFiles ? c.keyFiles.map((f) => readKey(resolve(f), 'key')) : [pki!.publicKeyPem];
    // Upstream's key id: a hash of the public key's DER, so verifiers can pick the key.
    const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    const settings: TokenSettings = {
      issuer: c.issuer,
      audiences: c.apiAudiences ?? [c.issuer],
      privateKey,
      publicKeys,
      keyId: createHash('sha256').update(der).digest('base64url'),
    };
    const lookup: Lookup = async (kind, namespace, name) => {
      const plural = { ServiceAccount: 'serviceaccounts', Pod: 'pods', Secret: 'secrets', Node: 'nodes' }[kind];
      return ctx.api.cached.get('', 'v1', plural, namespace, name);
    };
    ctx.provide.authenticator((request) => {
      const token = bearerToken(request.headers);
      return token === undefined ? undefined : authenticateToken(settings, token, lookup);
    });
    ctx.provide.subresource({ group: '', version: 'v1', plural: 'serviceaccounts' }, 'token', {
      kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
      verbs: ['create'],
      handler: { create: (req) => tokenRequest(req, settings, c.maxExpirationSeconds, lookup) },
    });
  },
});

async function tokenRequest(
  req: SubresourceRequest,
  settings: TokenSettings,
  maxExpiration: number,
  lookup: Lookup,
): Promise<KubeObject> {
  const serviceAccount = await req.store.get(req.namespace, req.name);
  const spec = ((req.body?.spec ?? {}) as Record<string, unknown>) ?? {};
  const requested = typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : 3600;
  if (requested < MIN_EXPIRATION) {
    throw errors.invalid('TokenRequest', 'authentication.k8s.io', req.name, [
      {
        type: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        value: requested,
        detail: 'may not specify a duration less than 10 minutes',
      },
    ]);
  }
  const audiences =
    Array.isArray(spec.audiences) && spec.audiences.length ? (spec.audiences as string[]) : settings.audiences;
  // Upstream's TokenRequestSpec names it boundObjectRef (kubectl create token --bound-object-kind).
  const { boundObject, node } = await binding(spec.boundObjectRef, req.name, req.namespace, lookup);
  const expirationSeconds = Math.min(requested, maxExpiration);
  const { token, expirationTimestamp } = issueToken(settings, {
    namespace: req.namespace,
    serviceAccount,
    audiences,
    expirationSeconds,
    boundObject,
    node,
  });
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: {
      name: req.name,
      namespace: req.namespace,
      creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    spec: { audiences, expirationSeconds, boundObjectRef: spec.boundObjectRef ?? null },
    status: { token: req.dryRun ? '' : token, expirationTimestamp },
  } as KubeObject;
}
