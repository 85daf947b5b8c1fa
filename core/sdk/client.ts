/**
 * skiff/sdk/client: talking to the API from a component or controller. The ApiClient interface
 * (in-process or HTTPS, the same calls), informers and work queues, and leader election: the
 * LEADER_ELECTION service (leader-election-lease provides it: a coordination.k8s.io/v1 Lease with
 * client-go's semantics) and the MicroTime stamps Leases carry.
 */

export { microTime, nowMicroTime } from '../api/micro-time.js';
export { type ChangeHandler, type ChangeType, delay, Informer, objectKey, WorkQueue } from '../client/informer.js';
export {
  LEADER_ELECTION,
  type LeaderCallbacks,
  type LeaderElection,
  type LeaderElector,
  type LeaderElectorOptions,
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
