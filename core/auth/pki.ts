/**
 * The cluster's certificate authority as a typed service: what components and plugins need of it
 * (the CA to trust, a client certificate for an identity, the service-account key pair), whoever
 * keeps the keys. pki-local provides it from files under <dataDir>/pki; a plugin holding the keys
 * elsewhere (a vault, an HSM) can provide the same service instead.
 */
import { serviceKey } from '../plugins/services.js';

/** Who a client certificate names: upstream reads the CN as the user and each O as a group. */
export interface ClientIdentity {
  /** The user (the certificate's CN): "system:node:n1". */
  user: string;
  /** Its groups (one O each): ["system:nodes"]. */
  groups?: readonly string[];
  /**
   * Keep the certificate under this name and hand out the same one while it is there (the PKI's
   * <name>.crt and <name>.key); without a name, every call issues a new one and keeps nothing.
   */
  name?: string;
}

/** A client certificate, its key, and the CA that verifies the API server. PEM, all three. */
export interface ClientCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** The key pair service-account tokens are signed with (private) and verified with (public). */
export interface ServiceAccountKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface Pki {
  /** The CA's certificate: what clients verify the API server with, and what signed every client certificate. */
  caCertificate(): string;
  /** A client certificate for `identity`, signed by the CA. */
  clientCredentials(identity: ClientIdentity): ClientCredentials;
  serviceAccountKeys(): ServiceAccountKeyPair;
}

export const PKI = serviceKey<Pki>('pki', "the cluster's certificate authority and credentials");

/** kube-controller-manager's identity, which upstream's bootstrap roles are bound to. */
export const CONTROLLER_MANAGER_IDENTITY: ClientIdentity = {
  user: 'system:kube-controller-manager',
  name: 'controller-manager',
};

/** kube-scheduler's identity. */
export const SCHEDULER_IDENTITY: ClientIdentity = { user: 'system:kube-scheduler', name: 'scheduler' };

/** A kubelet's identity, which the Node authorizer and NodeRestriction admission recognise. */
export function nodeIdentity(nodeName: string): ClientIdentity {
  return { user: `system:node:${nodeName}`, groups: ['system:nodes'], name: `node-${nodeName}` };
}
