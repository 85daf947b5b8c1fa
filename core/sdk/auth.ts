/**
 * skiff/sdk/auth: authenticators, authorizers and audit sinks. The request, answer and record
 * types of the three chains (shaped as k8s.io/apiserver's), the CSV credentials files upstream's
 * --token-auth-file and --basic-auth-file read, Authorization-header parsing, and the PKI service
 * (pki-local provides it): the cluster CA, client certificates for an identity, the
 * service-account key pair.
 */

export {
  type CredentialRecord,
  type CredentialsFile,
  findBySecret,
  readCredentialsFile,
  secretsEqual,
} from '../auth/credentials-file.js';
export { authorizationScheme, basicCredentials, bearerToken } from '../auth/headers.js';
export {
  type ClientCredentials,
  type ClientIdentity,
  CONTROLLER_MANAGER_IDENTITY,
  nodeIdentity,
  PKI,
  type Pki,
  SCHEDULER_IDENTITY,
  type ServiceAccountKeyPair,
} from '../auth/pki.js';
export type {
  AdmissionAttributes,
  AdmissionOperation,
  AdmissionPlugin,
  AuditRecord,
  AuditStage,
  Authenticated,
  AuthenticationRequest,
  AuthenticationResult,
  AuthorizationAttributes,
  AuthorizationDecision,
  Decision,
  RuleResolver,
  SubjectRules,
  Transport,
  UserInfo,
} from '../auth-types.js';
export type { AuthenticationOutcome, ListedRules } from '../chains.js';
export { SkiffError } from '../errors.js';
