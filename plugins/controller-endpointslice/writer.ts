/**
 * Writes a plan: creates (with a generated name), updates and deletes slices, telling the tracker
 * each write so that the next sync waits for the informer to catch up.
 */
import type { ApiClient, KubeObject } from 'skiff/sdk';
import { isStatusError } from 'skiff/sdk';
import type { OwnerReference } from 'skiff/sdk/api';
import type { Plan, SliceContent } from './plan.js';
import { SLICES, type Slice } from './slices.js';
import type { SliceTracker } from './tracker.js';

/** What every slice of one owner carries. */
export interface SliceMetadata {
  namespace: string;
  generateName: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: OwnerReference[];
}

function body(content: SliceContent, meta: SliceMetadata): KubeObject {
  const { namespace, generateName, labels, annotations, ownerReferences } = meta;
  const metadata = content.slice
    ? {
        ...content.slice.metadata,
        labels,
        annotations: { ...content.slice.metadata.annotations, ...annotations },
        ownerReferences,
      }
    : { generateName, namespace, labels, annotations, ownerReferences };
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata,
    addressType: content.addressType,
    endpoints: content.endpoints,
  };
  if (content.ports.length) slice.ports = content.ports;
  return slice;
}

const terminating = (err: unknown) => isStatusError(err) && err.code === 403 && /terminat/i.test(err.message);
const gone = (err: unknown) => isStatusError(err) && err.code === 404;

export async function applyPlan(
  client: ApiClient,
  owner: string,
  plan: Plan,
  meta: SliceMetadata,
  tracker: SliceTracker,
  allowCreate = true,
): Promise<void> {
  if (allowCreate) {
    for (const content of plan.create) {
      try {
        tracker.written(owner, await client.create(SLICES, meta.namespace, body(content, meta)));
      } catch (err) {
        // A namespace being deleted refuses new objects: nothing to retry.
        if (terminating(err)) return;
        throw err;
      }
    }
  }
  for (const content of plan.update) {
    tracker.written(owner, await client.update(SLICES, meta.namespace, body(content, meta)));
  }
  for (const slice of plan.delete) await deleteSlice(client, owner, slice, tracker);
}

export async function deleteSlice(
  client: ApiClient,
  owner: string,
  slice: Slice,
  tracker: SliceTracker,
): Promise<void> {
  try {
    await client.delete(SLICES, slice.metadata.namespace ?? '', slice.metadata.name ?? '');
    tracker.deleted(owner, slice.metadata.namespace ?? '', slice.metadata.name ?? '');
  } catch (err) {
    if (!gone(err)) throw err;
  }
}
