/**
 * skiff/sdk/client: talking to the API from a component or controller. The ApiClient interface
 * (in-process or HTTPS, the same calls), informers and work queues, and leader election: the
 * LEADER_ELECTION service (leader-election-lease provides it: a coordination.k8s.io/v1 Lease with
 * client-go's semantics) and the MicroTime stamps Leases carry. For components run in their own
 * process (`skiff kubelet`): the HTTPS client from a kubeconfig, and setUpComponentPlugins, which sets
 * up the config file's plugins they need (a container runtime) without a server. For a controller
 * manager: the served resources, from the registry in-process or from discovery over HTTPS.
 */

export { microTime, nowMicroTime } from '../api/micro-time.js';
export { cachedDiscovery } from '../client/discovery.js';
export { fromKubeconfig, HttpsClient, type HttpsClientOptions } from '../client/https-client.js';
export { type ChangeHandler, type ChangeType, delay, Informer, objectKey, WorkQueue } from '../client/informer.js';
export { type ConnectionOptions, readKubeconfig, serverOfDataDir } from '../client/kubeconfig.js';
export {
  LEADER_ELECTION,
  type LeaderCallbacks,
  type LeaderElection,
  type LeaderElector,
  type LeaderElectorOptions,
} from '../client/leader-election.js';
export { cachedServedResources, type ServedResource, servedFromRegistry } from '../client/served-resources.js';
export {
  type ApiClient,
  CORE_V1,
  type DeleteOptions,
  type KubeList,
  type ListOptions,
  type PatchType,
  type ResourceRef,
  type WatchEvent,
  type WatchHandle,
  type WatchOptions,
  type WriteOptions,
} from '../client/types.js';
export { type RefusedCredentials, waitForApiServer } from '../client/wait-for-api.js';
export type { Controller, ControllerContext, ControllerRegistration } from '../hooks.js';
export {
  type ComponentPlugins,
  type ComponentPluginsOptions,
  type SelectablePlugin,
  setUpComponentPlugins,
} from './component.js';
