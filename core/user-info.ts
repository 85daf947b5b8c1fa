/**
 * Who is asking: the identity every layer passes along (the API machinery records it, the chains
 * decide on it). Below both, so neither imports the other for it. Shaped as k8s.io/apiserver's user.Info.
 */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}
