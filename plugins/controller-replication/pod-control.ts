/**
 * Creating and deleting a controller's pods, as upstream's RealPodControl with its Events: a pod
 * is made from the template (its labels, annotations and finalizers, the name `<owner>-` plus a
 * random suffix, the controller reference) and announced with SuccessfulCreate, or the refusal
 * with FailedCreate; a deletion with SuccessfulDelete or FailedDelete. Creations go in upstream's
 * slow-start batches (1, 2, 4, ...): a project over its quota gets one refused create, not five
 * hundred.
 */
import { CORE_V1, type ControllerContext, isStatusError, type KubeObject } from 'skiff/sdk';
import { clone } from 'skiff/sdk/api';
import { type EventRecorder, newControllerRef } from 'skiff/sdk/controller';
import type { ReplicaKind } from './kinds.js';

const PODS = CORE_V1('pods');

interface Template {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  spec?: unknown;
}

/** Upstream's GetPodFromTemplate. */
export function podFromTemplate(owner: KubeObject, kind: ReplicaKind): KubeObject {
  const template = ((owner.spec as { template?: Template } | undefined)?.template ?? {}) as Template;
  const meta = template.metadata ?? {};
  const metadata: KubeObject['metadata'] = {
    generateName: `${owner.metadata.name}-`,
    labels: { ...meta.labels },
    ownerReferences: [newControllerRef(owner, kind)],
  };
  if (meta.annotations) metadata.annotations = { ...meta.annotations };
  if (meta.finalizers) metadata.finalizers = [...meta.finalizers];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: clone(template.spec) };
}

/** A create refused because the namespace is going away: nothing to retry or report. */
function namespaceTerminating(err: unknown): boolean {
  return isStatusError(err) && Boolean(err.details?.causes?.some((c) => c.reason === 'NamespaceTerminating'));
}

export class PodControl {
  constructor(
    private readonly c: ControllerContext,
    private readonly kind: ReplicaKind,
    private readonly events: EventRecorder,
  ) {}

  async create(owner: KubeObject): Promise<void> {
    const pod = podFromTemplate(owner, this.kind);
    if (Object.keys(pod.metadata.labels ?? {}).length === 0) throw new Error('unable to create pods, no labels');
    try {
      const created = await this.c.client.create(PODS, owner.metadata.namespace ?? '', pod);
      this.events.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, this.kind);
    } catch (err) {
      if (namespaceTerminating(err)) return;
      this.events.event(owner, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`, this.kind);
      throw err;
    }
  }

  async delete(owner: KubeObject, pod: KubeObject): Promise<void> {
    try {
      await this.c.client.delete(PODS, pod.metadata.namespace ?? '', pod.metadata.name ?? '');
      this.events.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, this.kind);
    } catch (err) {
      if (!isStatusError(err) || err.code !== 404) {
        this.events.event(owner, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`, this.kind);
      }
      throw err;
    }
  }
}

/**
 * Upstream's slowStartBatch: calls `fn` `count` times in batches of 1, 2, 4, ... (each batch at
 * once), stopping after the first batch with a failure. Returns how many calls succeeded and the
 * first failure.
 */
export async function slowStartBatch(
  count: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, 1); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, fn));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += batch - failed.length;
    if (failed.length) return { successes, error: failed[0]!.reason };
    remaining -= batch;
  }
  return { successes };
}
