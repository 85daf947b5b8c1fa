/**
 * skiff/sdk/client: talking to the API from a component or controller. The ApiClient interface
 * (in-process or HTTPS, the same calls), informers and work queues, and leader election through a
 * coordination.k8s.io/v1 Lease (client-go's semantics).
 */
export { type ChangeHandler, type ChangeType, delay, Informer, objectKey, WorkQueue } from '../client/informer.js';
export {
  type LeaderCallbacks,
  LeaderElector,
  type LeaderElectorOptions,
  microTime,
} from '../client/leader-election.js';
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
export type { Controller, ControllerContext, ControllerRegistration } from '../hooks.js';
