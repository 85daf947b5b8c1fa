/**
 * Service-account JWTs, as upstream's serviceaccount token generator and authenticator: RS256 only
 * (so `alg: none` and HS256-signed-with-the-public-key tokens fail verification), issuer and
 * audience checked, and the service account (and the pod or secret a token is bound to) must still
 * exist with the same uid.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { isStatusError } from 'skiff/sdk';
import type { KubeObject } from 'skiff/sdk/api';
import type { AuthenticationResult, UserInfo } from 'skiff/sdk/auth';

export interface TokenSettings {
  issuer: string;
  /** Audiences the API server accepts (upstream --api-audiences). */
  audiences: string[];
  privateKey: string;
  publicKeys: string[];
  keyId: string;
}

export interface BoundObject {
  kind: 'Pod' | 'Secret' | 'Node';
  name: string;
  uid: string;
}

/** The node a token names: the one it is bound to, or its pod's (uid unknown when that Node is missing). */
export interface NodeClaim {
  name: string;
  uid?: string;
}

interface KubernetesClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  secret?: { name: string; uid: string };
  node?: NodeClaim;
}

export interface IssueRequest {
  namespace: string;
  serviceAccount: KubeObject;
  audiences: string[];
  expirationSeconds: number;
  boundObject?: BoundObject;
  node?: NodeClaim;
  now?: Date;
}

export function issueToken(s: TokenSettings, r: IssueRequest): { token: string; expirationTimestamp: string } {
  const now = Math.floor((r.now ?? new Date()).getTime() / 1000);
  const exp = now + r.expirationSeconds;
  const claims: KubernetesClaims = {
    namespace: r.namespace,
    serviceaccount: { name: r.serviceAccount.metadata.name!, uid: r.serviceAccount.metadata.uid! },
  };
  if (r.boundObject?.kind === 'Pod') claims.pod = { name: r.boundObject.name, uid: r.boundObject.uid };
  if (r.boundObject?.kind === 'Secret') claims.secret = { name: r.boundObject.name, uid: r.boundObject.uid };
  if (r.node) claims.node = r.node.uid ? { name: r.node.name, uid: r.node.uid } : { name: r.node.name };
  const token = jwt.sign(
    {
      aud: r.audiences,
      exp,
      iat: now,
      nbf: now,
      iss: s.issuer,
      jti: randomUUID(),
      sub: `system:serviceaccount:${r.namespace}:${claims.serviceaccount.name}`,
      'kubernetes.io': claims,
    },
    s.privateKey,
    { algorithm: 'RS256', keyid: s.keyId },
  );
  return { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/** Looks objects up so a token dies with what it is bound to; undefined = not found. */
export type Lookup = (
  kind: 'ServiceAccount' | 'Pod' | 'Secret' | 'Node',
  namespace: string,
  name: string,
) => Promise<KubeObject | undefined>;

const looksLikeJwt = (token: string) => token.split('.').length === 3 && token.startsWith('eyJ');

// RS256 verification costs far more than the request it guards; a verified token's claims are kept
// until it expires (bounded), while expiry and the existence checks still run on every request.
const VERIFIED_MAX = 4096;
const verified = new WeakMap<TokenSettings, Map<string, jwt.JwtPayload>>();

function cachedPayload(s: TokenSettings, token: string, now: number): jwt.JwtPayload | undefined {
  const payload = verified.get(s)?.get(token);
  if (!payload) return undefined;
  if (typeof payload.exp === 'number' && payload.exp * 1000 <= now) {
    verified.get(s)!.delete(token);
    return undefined;
  }
  return payload;
}

function remember(s: TokenSettings, token: string, payload: jwt.JwtPayload): void {
  let cache = verified.get(s);
  if (!cache) {
    cache = new Map();
    verified.set(s, cache);
  }
  if (cache.size >= VERIFIED_MAX) cache.delete(cache.keys().next().value!);
  cache.set(token, payload);
}

export async function authenticateToken(
  s: TokenSettings,
  token: string,
  lookup: Lookup,
): Promise<AuthenticationResult> {
  if (!looksLikeJwt(token)) return undefined; // not ours: let other authenticators try
  let payload = cachedPayload(s, token, Date.now());
  if (!payload) {
    const result = verify(s, token);
    if ('error' in result) return result;
    payload = result.payload;
    remember(s, token, payload);
  }
  return userOf(payload, lookup);
}

function verify(s: TokenSettings, token: string): { payload: jwt.JwtPayload } | { error: string } {
  let payload: jwt.JwtPayload | undefined;
  let lastError = '';
  for (const key of s.publicKeys) {
    try {
      payload = jwt.verify(token, key, {
        algorithms: ['RS256'],
        issuer: s.issuer,
        audience: s.audiences as [string, ...string[]],
      }) as jwt.JwtPayload;
      break;
    } catch (err) {
      lastError = (err as Error).message;
    }
  }
  return payload ? { payload } : { error: `service account token is invalid: ${lastError}` };
}

async function userOf(payload: jwt.JwtPayload, lookup: Lookup): Promise<AuthenticationResult> {
  const k8s = payload['kubernetes.io'] as KubernetesClaims | undefined;
  if (!k8s?.namespace || !k8s.serviceaccount?.name)
    return { error: 'service account token has no kubernetes.io claims' };
  const check = async (kind: 'ServiceAccount' | 'Pod' | 'Secret' | 'Node', ref: { name: string; uid?: string }) => {
    const namespace = kind === 'Node' ? '' : k8s.namespace;
    const found = await lookup(kind, namespace, ref.name).catch((err: unknown) => {
      if (isStatusError(err) && err.code === 404) return undefined;
      throw err;
    });
    if (!found) return `${kind.toLowerCase()} ${namespace ? `${namespace}/` : ''}${ref.name} has been deleted`;
    if (found.metadata.uid !== ref.uid) {
      return `${kind.toLowerCase()} UID (${found.metadata.uid}) does not match claim (${ref.uid})`;
    }
    return undefined;
  };
  const problem =
    (await check('ServiceAccount', k8s.serviceaccount)) ??
    (k8s.pod ? await check('Pod', k8s.pod) : undefined) ??
    (k8s.secret ? await check('Secret', k8s.secret) : undefined) ??
    // A token bound to a node dies with it; a pod's node is only named (upstream checks the pod).
    (k8s.node && !k8s.pod ? await check('Node', k8s.node) : undefined);
  if (problem) return { error: `service account token is no longer valid: ${problem}` };
  const user: UserInfo = {
    name: `system:serviceaccount:${k8s.namespace}:${k8s.serviceaccount.name}`,
    uid: k8s.serviceaccount.uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${k8s.namespace}`],
    extra: {},
  };
  if (k8s.pod) {
    user.extra!['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
    user.extra!['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
  }
  if (k8s.node) {
    user.extra!['authentication.kubernetes.io/node-name'] = [k8s.node.name];
    if (k8s.node.uid) user.extra!['authentication.kubernetes.io/node-uid'] = [k8s.node.uid];
  }
  if (payload.jti) user.extra!['authentication.kubernetes.io/credential-id'] = [`JTI=${payload.jti}`];
  return { user };
}
