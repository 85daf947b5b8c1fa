/**
 * The status manager: writes each pod's status to the API through pods/status (for a static pod,
 * to its mirror pod), only when it changed, with the pod's uid as a precondition so a pod
 * re-created under the same name is never given another's status. Once a deleted pod has stopped,
 * it deletes the pod object with grace 0, as upstream's status manager does.
 */
import type { Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { isStatusError } from 'skiff/sdk';
import { CORE_V1 } from 'skiff/sdk/client';
import type { KubeletContext } from './context.js';

const PODS = CORE_V1('pods');

/** The API object a status goes to: the pod itself, or a static pod's mirror. */
export interface StatusTarget {
  namespace: string;
  name: string;
  uid: string;
}

export function targetOf(pod: Pod): StatusTarget {
  return {
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
  };
}

export class StatusManager {
  /** By target uid: the status last written. */
  private readonly written = new Map<string, string>();

  constructor(private readonly ctx: KubeletContext) {}

  /** Writes `status` unless it is what was written last; false when the pod is gone. */
  async write(target: StatusTarget, status: PodStatus): Promise<boolean> {
    const text = JSON.stringify(status);
    if (this.written.get(target.uid) === text) return true;
    try {
      await this.ctx.client.patch(
        PODS,
        target.namespace,
        target.name,
        'merge',
        { metadata: { uid: target.uid }, status },
        { subresource: 'status' },
      );
      this.written.set(target.uid, text);
      return true;
    } catch (err) {
      // Gone, or another pod of that name now (the uid precondition): nothing to report to.
      if (isStatusError(err) && (err.code === 404 || err.code === 409)) return false;
      throw err;
    }
  }

  /** Deletes a pod that finished terminating (grace 0, only that uid). */
  async deleteFinished(target: StatusTarget): Promise<void> {
    try {
      await this.ctx.client.delete(PODS, target.namespace, target.name, {
        gracePeriodSeconds: 0,
        preconditions: { uid: target.uid },
      });
    } catch (err) {
      if (!isStatusError(err) || (err.code !== 404 && err.code !== 409)) throw err;
    }
    this.forget(target.uid);
  }

  forget(uid: string): void {
    this.written.delete(uid);
  }
}
