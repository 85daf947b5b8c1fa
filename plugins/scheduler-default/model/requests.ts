/**
 * What a pod asks of a node, as upstream's resource.PodRequests computes it: regular containers
 * run together (summed); init containers run one at a time before them, each beside the
 * restartable (sidecar) init containers started before it, so the pod needs the larger of the two;
 * sidecars keep running, so they add to the regular containers; the pod's overhead comes on top.
 */
import type { Resource } from 'skiff/sdk/scheduler';
import { addList, addResource, emptyResource, maxResource } from './resource.js';

/** Upstream's defaults for scoring when a container gives no CPU/memory request (100m, 200 MiB). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

function containerRequests(c: Obj, nonZero: boolean): Resource {
  const requests = obj(obj(c.resources).requests);
  const r = emptyResource();
  addList(r, requests);
  if (nonZero) {
    // Upstream's NonMissingContainerRequests: only a missing key gets the default, not an explicit 0.
    if (requests.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
    if (requests.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

const isSidecar = (c: Obj) => c.restartPolicy === 'Always';

/** The pod's requests; `nonZero` applies the scoring defaults to containers missing cpu/memory. */
export function podRequests(spec: Obj, nonZero = false): Resource {
  const total = emptyResource();
  for (const c of list(spec.containers)) addResource(total, containerRequests(c, nonZero));
  const sidecars = emptyResource();
  const initMax = emptyResource();
  for (const c of list(spec.initContainers)) {
    const own = containerRequests(c, nonZero);
    if (isSidecar(c)) {
      addResource(total, own);
      addResource(sidecars, own);
      maxResource(initMax, sidecars);
    } else {
      const running = emptyResource();
      addResource(running, own);
      addResource(running, sidecars);
      maxResource(initMax, running);
    }
  }
  maxResource(total, initMax);
  addList(total, obj(spec.overhead));
  return total;
}

/** Whether the pod asks for nothing (upstream's best-effort check on requests). */
export function isZero(r: Resource): boolean {
  return r.milliCPU === 0 && r.memory === 0 && r.ephemeralStorage === 0 && !r.scalar?.size;
}
