/**
 * Who is asking and what they may do: the types that flow through the authentication,
 * authorization and admission chains. Shapes follow k8s.io/apiserver so upstream docs apply.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { KubeObject } from './api/types.js';
import type { UserInfo } from './user-info.js';

export type { UserInfo };

/** How the request reached the server. */
export type Transport = 'secure' | 'insecure' | 'in-process';

export interface AuthenticationRequest {
  headers: IncomingHttpHeaders;
  transport: Transport;
  /** The verified peer certificate chain (secure port), DER-encoded, leaf first. */
  peerCertificates?: Buffer[];
  /** For in-process clients: the identity the component runs as. */
  inProcessUser?: UserInfo;
}

/**
 * What an authenticator answers: a user, a reason it refused (the union keeps trying and logs the
 * reason), or undefined when the request carries nothing it understands.
 */
export type AuthenticationResult = { user: UserInfo } | { error: string } | undefined;

export interface Authenticated {
  user: UserInfo;
  /** The name of the authenticator that identified the user (for audit). */
  authenticator: string;
}

export interface AuthorizationAttributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** For resource requests. */
  namespace: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  name: string;
  /** For non-resource requests: the URL path. */
  path: string;
}

export type Decision = 'allow' | 'deny' | 'no-opinion';

export interface AuthorizationDecision {
  decision: Decision;
  /**
   * Why. For an allow or a deny, the deciding authorizer's reason (a deny's is shown in the 403); for
   * the chain's final no-opinion, every authorizer's reason with its name, for logs and audit.
   */
  reason: string;
  /**
   * Set by the chain on its final no-opinion: the authorizers' own no-opinion reasons, joined by
   * newlines as upstream's union authorizer joins them (errors left out). The 403 message and a
   * SubjectAccessReview's status.reason show it, e.g. AlwaysDeny's "Everything is forbidden.".
   */
  noOpinionReason?: string;
  /** Filled by the chain: the authorizer that decided. */
  authorizer?: string;
}

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionAttributes {
  operation: AdmissionOperation;
  resource: { group: string; version: string; resource: string };
  subresource: string;
  kind: { group: string; version: string; kind: string };
  namespace: string;
  name: string;
  /** The object being written; mutating plugins change it in place. Absent on DELETE. */
  object?: KubeObject;
  oldObject?: KubeObject;
  user: UserInfo;
  dryRun: boolean;
}

/**
 * An admission plugin, after upstream's admission.Interface: `handles` narrows the operations
 * (absent = all); `admit` may mutate; `validate` may only accept or reject. Reject by throwing a
 * StatusError (use `errors.forbidden(...)` for policy refusals).
 */
export interface AdmissionPlugin {
  name: string;
  handles?(operation: AdmissionOperation): boolean;
  /**
   * The subresources whose POSTs this plugin also sees (e.g. 'token' of serviceaccounts, 'binding'
   * of pods). Their bodies are not the resource's objects (a TokenRequest, a Binding), so a plugin
   * that never asked for them is not shown them; writes of the resource and its status it always sees.
   */
  subresourceCreates?: readonly string[];
  admit?(attributes: AdmissionAttributes): void | Promise<void>;
  validate?(attributes: AdmissionAttributes): void | Promise<void>;
}

export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

/**
 * What the server knows about one request, for audit plugins (hooks.audit). Filled as the request
 * moves through the pipeline; plugins decide what to write (upstream's audit policy levels).
 */
export interface AuditRecord {
  auditID: string;
  requestReceivedTimestamp: Date;
  verb: string;
  requestURI: string;
  sourceIPs: string[];
  userAgent?: string;
  /** The authenticated user (the real one when impersonating). */
  user?: UserInfo;
  impersonatedUser?: UserInfo;
  /** The authenticator that identified the user. */
  authenticator?: string;
  objectRef?: {
    resource: string;
    namespace?: string;
    name?: string;
    apiGroup?: string;
    apiVersion?: string;
    subresource?: string;
  };
  resourceRequest: boolean;
  /** The authorization chain's verdict: the deciding authorizer and its reason. */
  authorization?: { decision: 'allow' | 'forbid'; authorizer?: string; reason: string };
  responseStatus?: { code: number; status?: string; reason?: string; message?: string };
  requestObject?: unknown;
  responseObject?: unknown;
}

/** What a user may do in a namespace, as SelfSubjectRulesReview reports it (`kubectl auth can-i --list`). */
export interface SubjectRules {
  resourceRules: { verbs: string[]; apiGroups: string[]; resources: string[]; resourceNames?: string[] }[];
  nonResourceRules: { verbs: string[]; nonResourceURLs: string[] }[];
}

/** An authorizer's optional answer to "list the rules for this user" (upstream's RuleResolver). */
export type RuleResolver = (user: UserInfo, namespace: string) => SubjectRules;
