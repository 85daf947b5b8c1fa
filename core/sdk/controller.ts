/**
 * skiff/sdk/controller: the pieces upstream's controllers share (k8s.io/kubernetes pkg/controller and
 * client-go), for controller plugins: a work queue with several workers, delays and back-off; an
 * Event recorder; controller references (adoption and release of dependents); what a pod's status
 * says (ready, available, active); label selectors (map and metav1.LabelSelector forms); and what
 * the endpoints and EndpointSlice controllers share (which pods a Service selects, their addresses
 * and ports, the last-change trigger time).
 */
export {
  type LabelSelector,
  type LabelSelectorObject,
  labelSelectorFromObject,
  labelSelectorString,
  matchesLabels,
  parseLabelSelector,
  selectorFromSet,
} from '../api/selectors.js';
export { waitForCacheSync } from '../controller-kit/cache-sync.js';
export { type EventRecorder, type EventType, eventRecorder } from '../controller-kit/events.js';
export {
  type ClaimOptions,
  claimDependents,
  controllerRefOf,
  type KindRef,
  newControllerRef,
  recheckOwner,
} from '../controller-kit/owner-refs.js';
export {
  isPodActive,
  isPodAvailable,
  isPodReady,
  maxContainerRestarts,
  podPhase,
  podReadySince,
} from '../controller-kit/pods.js';
export { ControllerQueue } from '../controller-kit/queue.js';
export {
  endpointFingerprint,
  findPort,
  isPodTerminal,
  podIPForService,
  podIPs,
  ServicePodIndex,
  ServiceSelectorIndex,
  selectsLabels,
  serviceIPFamily,
  serviceSelector,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  TriggerTimeTracker,
} from '../controller-kit/service-endpoints.js';
