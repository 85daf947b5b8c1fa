/**
 * skiff/sdk/cloud: the cloud-provider contract, after upstream's cloudprovider.Interface and its
 * LoadBalancer part (k8s.io/cloud-provider). The service controller (controller-service) asks the
 * CLOUD_PROVIDER service for load balancers of Services of type LoadBalancer; a plugin provides it
 * (cloud-local: real TCP balancers on this machine). Without a provider the service controller
 * stays idle, as upstream's does without --cloud-provider.
 */
import type { KubeObject } from '../api/types.js';
import { serviceKey } from '../plugins/services.js';

/** A Service's status.loadBalancer: where the balancer answers. */
export interface LoadBalancerStatus {
  ingress?: { ip?: string; hostname?: string; ipMode?: 'VIP' | 'Proxy' }[];
}

/**
 * Upstream's cloudprovider.LoadBalancer. `service` and `nodes` are the API objects (read them,
 * never change them); `nodes` are those the balancer may send traffic to (Ready, not excluded by
 * node.kubernetes.io/exclude-from-external-load-balancers). Every call is idempotent.
 */
export interface LoadBalancer {
  /** Whether the service's balancer exists, and its status if so. */
  getLoadBalancer(clusterName: string, service: KubeObject): Promise<{ exists: boolean; status?: LoadBalancerStatus }>;
  /** The balancer's name (upstream's default: "a" + the service uid without dashes, 32 characters at most). */
  getLoadBalancerName(clusterName: string, service: KubeObject): string;
  /** Creates the balancer or brings it up to date with the service's ports and these nodes. */
  ensureLoadBalancer(
    clusterName: string,
    service: KubeObject,
    nodes: readonly KubeObject[],
  ): Promise<LoadBalancerStatus>;
  /** Points an existing balancer at these nodes (the node set changed). */
  updateLoadBalancer(clusterName: string, service: KubeObject, nodes: readonly KubeObject[]): Promise<void>;
  /** Removes the balancer; succeeds when there is none. */
  ensureLoadBalancerDeleted(clusterName: string, service: KubeObject): Promise<void>;
}

/** Upstream's cloudprovider.Interface, reduced to what Skiff's controllers use. */
export interface CloudProvider {
  /** The --cloud-provider name: "local". */
  providerName(): string;
  /** Undefined when the provider has no load balancers. */
  loadBalancer(): LoadBalancer | undefined;
}

export const CLOUD_PROVIDER = serviceKey<CloudProvider>('cloud-provider', 'the cloud provider: load balancers');

/** Upstream's cloudprovider.DefaultLoadBalancerName. */
export function defaultLoadBalancerName(service: KubeObject): string {
  return `a${(service.metadata.uid ?? '').replaceAll('-', '')}`.slice(0, 32);
}
