/**
 * Who may use the kubelet's server, as upstream's kubelet decides it (pkg/kubelet/server/auth.go,
 * k8s.io/apiserver's delegating authenticator and webhook authorizer):
 *
 * - Authentication, a union tried in order: an x509 client certificate verified against the client
 *   CA (CN the user, each O a group; it must allow client authentication), then a bearer token
 *   checked with a TokenReview against the API server (answers cached for
 *   --authentication-token-webhook-cache-ttl). The first success wins. A failed credential is 401,
 *   never anonymous; without any credential the request is system:anonymous only with
 *   --anonymous-auth, else 401 "Unauthorized".
 * - Authorization: the request's method as a verb (POST create, GET/HEAD get, PUT update, PATCH
 *   patch, DELETE delete) on the node's `nodes` resource, subresource by path: /stats… stats,
 *   /metrics… metrics, /logs… log, /spec… spec, everything else proxy. Webhook mode asks the API
 *   server with a SubjectAccessReview (allowed answers cached 5 min, denied 30 s); AlwaysAllow
 *   allows. A refusal is 403 "Forbidden (user=…, verb=…, resource=nodes, subresource(s)=[…])".
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ApiClient } from 'skiff/sdk/client';

export interface KubeletUser {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export type Authentication = { user: KubeletUser } | { refused: string };

export interface AuthSettings {
  nodeName: string;
  client: ApiClient;
  /** Whether a client CA is configured (x509 authentication on). */
  x509: boolean;
  anonymousAuth: boolean;
  tokenWebhook: boolean;
  tokenCacheTTL: number;
  authorizationMode: 'Webhook' | 'AlwaysAllow';
  authorizedTTL: number;
  unauthorizedTTL: number;
}

const TOKEN_REVIEWS = { group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews' };
const ACCESS_REVIEWS = { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews' };
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_USAGE = '2.5.29.37.0';
const CACHE_LIMIT = 4096;

/** A small TTL cache with a bound on its size (oldest entries go first). */
class TtlCache<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();
  get(key: string): T | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expires > Date.now()) return hit.value;
    this.entries.delete(key);
    return undefined;
  }
  set(key: string, value: T, ttlSeconds: number): void {
    if (ttlSeconds <= 0) return;
    if (this.entries.size >= CACHE_LIMIT) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expires: Date.now() + ttlSeconds * 1000 });
  }
}

const asArray = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export class KubeletAuth {
  private readonly tokens = new TtlCache<KubeletUser | null>();
  private readonly decisions = new TtlCache<boolean>();

  constructor(private readonly settings: AuthSettings) {}

  async authenticate(req: IncomingMessage): Promise<Authentication> {
    const refusals: string[] = [];
    const x509 = this.fromCertificate(req);
    if (x509 && 'user' in x509) return x509;
    if (x509) refusals.push(x509.refused);
    const token = bearer(req.headers.authorization);
    if (token !== undefined && this.settings.tokenWebhook) {
      const result = await this.fromToken(token);
      if ('user' in result) return result;
      refusals.push(result.refused);
    } else if (token !== undefined) {
      refusals.push('bearer tokens are not accepted (--authentication-token-webhook=false)');
    }
    if (refusals.length) return { refused: refusals.join('; ') };
    if (this.settings.anonymousAuth) return { user: { name: 'system:anonymous', groups: ['system:unauthenticated'] } };
    return { refused: 'no credentials' };
  }

  private fromCertificate(req: IncomingMessage): Authentication | undefined {
    const socket = req.socket as TLSSocket;
    if (!this.settings.x509 || typeof socket.getPeerCertificate !== 'function') return undefined;
    const cert = socket.getPeerCertificate();
    if (!cert || !Object.keys(cert).length) return undefined;
    if (!socket.authorized) return { refused: `x509: ${socket.authorizationError ?? 'certificate not trusted'}` };
    const usages = (cert as { ext_key_usage?: string[] }).ext_key_usage;
    if (usages && !usages.includes(CLIENT_AUTH) && !usages.includes(ANY_USAGE)) {
      return { refused: 'x509: certificate specifies an incompatible key usage' };
    }
    const name = asArray(cert.subject?.CN as string | string[] | undefined)[0];
    if (!name) return { refused: 'x509: the certificate has no common name' };
    return {
      user: { name, groups: [...asArray(cert.subject?.O as string | string[] | undefined), 'system:authenticated'] },
    };
  }

  private async fromToken(token: string): Promise<Authentication> {
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.tokens.get(key);
    if (cached !== undefined) return cached ? { user: cached } : { refused: 'invalid bearer token' };
    let review: { status?: { authenticated?: boolean; user?: Record<string, unknown> } };
    try {
      review = (await this.settings.client.create(TOKEN_REVIEWS, '', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        metadata: {},
        spec: { token },
      })) as typeof review;
    } catch (err) {
      // The API server could not answer: not cached, and not anonymous either.
      return { refused: `token review failed: ${(err as Error).message}` };
    }
    const status = review.status;
    const user = status?.authenticated ? userFromReview(status.user ?? {}) : null;
    this.tokens.set(key, user, this.settings.tokenCacheTTL);
    return user ? { user } : { refused: 'invalid bearer token' };
  }

  /** Whether `user` may do what the request asks; `undefined` allowed, else upstream's 403 text. */
  async authorize(user: KubeletUser, method: string, path: string): Promise<string | undefined> {
    const verb = VERBS[method] ?? '';
    const subresource = subresourceOf(path);
    if (this.settings.authorizationMode === 'AlwaysAllow') return undefined;
    const key = JSON.stringify([user.name, user.groups, user.uid, user.extra, verb, subresource]);
    let allowed = this.decisions.get(key);
    if (allowed === undefined) {
      allowed = await this.review(user, verb, subresource);
      this.decisions.set(key, allowed, allowed ? this.settings.authorizedTTL : this.settings.unauthorizedTTL);
    }
    return allowed
      ? undefined
      : `Forbidden (user=${user.name}, verb=${verb}, resource=nodes, subresource(s)=[${subresource}])\n`;
  }

  private async review(user: KubeletUser, verb: string, subresource: string): Promise<boolean> {
    const review = (await this.settings.client.create(ACCESS_REVIEWS, '', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {},
      spec: {
        user: user.name,
        groups: user.groups,
        ...(user.uid ? { uid: user.uid } : {}),
        ...(user.extra ? { extra: user.extra } : {}),
        resourceAttributes: { verb, version: 'v1', resource: 'nodes', subresource, name: this.settings.nodeName },
      },
    })) as { status?: { allowed?: boolean } };
    return review.status?.allowed === true;
  }
}

const VERBS: Record<string, string> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** Upstream's isSubpath: the path itself or anything below it. */
const isSubpath = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

export function subresourceOf(path: string): string {
  if (isSubpath(path, '/stats')) return 'stats';
  if (isSubpath(path, '/metrics')) return 'metrics';
  if (isSubpath(path, '/logs')) return 'log';
  if (isSubpath(path, '/spec')) return 'spec';
  return 'proxy';
}

function bearer(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

function userFromReview(user: Record<string, unknown>): KubeletUser | null {
  if (typeof user.username !== 'string' || !user.username) return null;
  const groups = Array.isArray(user.groups) ? (user.groups as string[]) : [];
  return {
    name: user.username,
    groups,
    ...(typeof user.uid === 'string' && user.uid ? { uid: user.uid } : {}),
    ...(user.extra && typeof user.extra === 'object' ? { extra: user.extra as Record<string, string[]> } : {}),
  };
}
