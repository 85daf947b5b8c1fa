/**
 * skiff/sdk/network: the cluster's service addresses, as the plugin that serves core/v1 Services
 * allocates them (kube-apiserver's --service-cluster-ip-range and --service-node-port-range). The
 * service proxy reads it inside `skiff up` to know which range to make local to the host.
 */
import { serviceKey } from '../plugins/services.js';

export interface ServiceNetwork {
  /** An IPv4 CIDR: every ClusterIP lies in it. */
  serviceClusterIPRange: string;
  /** "first-last": every NodePort lies in it. */
  serviceNodePortRange: string;
}

export const SERVICE_NETWORK = serviceKey<ServiceNetwork>(
  'service-network',
  'the Service network (ClusterIP and NodePort allocation)',
);
