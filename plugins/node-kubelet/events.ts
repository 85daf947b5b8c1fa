/**
 * The kubelet's event recorder: core/v1 Events with source `kubelet` and the node as host, named
 * `<object>.<hex nanoseconds>` as upstream's recorder names them. A repeat of the same event (same
 * object, field path, type, reason and message) within 10 minutes bumps its count and
 * lastTimestamp instead of creating another, as upstream's correlator does. Fire and forget: a
 * failed event never holds up a pod.
 */

import type { Logger } from 'pino';
import type { KubeObject } from 'skiff/sdk';
import { type ApiClient, CORE_V1 } from 'skiff/sdk/client';

const EVENTS = CORE_V1('events');
const REPEAT_WINDOW_MS = 10 * 60_000;
const REMEMBERED_MAX = 4096;

export type EventType = 'Normal' | 'Warning';

interface Seen {
  namespace: string;
  name: string;
  count: number;
  at: number;
}

/** What an event is about: a pod (and one of its containers), or the node. */
export interface EventTarget {
  kind: 'Pod' | 'Node';
  namespace: string;
  name: string;
  uid: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export function podTarget(pod: KubeObject, fieldPath?: string): EventTarget {
  return {
    kind: 'Pod',
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name ?? '',
    uid: pod.metadata.uid ?? '',
    resourceVersion: pod.metadata.resourceVersion,
    fieldPath,
  };
}

/** Upstream's field path of a container: spec.containers{web}, spec.initContainers{setup}. */
export function containerFieldPath(pod: KubeObject, container: string): string {
  const inits = ((pod.spec as { initContainers?: { name: string }[] })?.initContainers ?? []).map((c) => c.name);
  return inits.includes(container) ? `spec.initContainers{${container}}` : `spec.containers{${container}}`;
}

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly client: ApiClient,
    private readonly nodeName: string,
    private readonly logger: Logger,
  ) {}

  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    this.write(target, type, reason, message).catch((err: unknown) =>
      this.logger.debug({ err, reason, object: target.name }, 'event not recorded'),
    );
  }

  private async write(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    // Node events go to the default namespace, as upstream's.
    const namespace = target.kind === 'Node' ? 'default' : target.namespace;
    const key = [namespace, target.uid, target.fieldPath ?? '', type, reason, message].join('\u0000');
    const now = Date.now();
    const stamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const earlier = this.seen.get(key);
    if (earlier && now - earlier.at < REPEAT_WINDOW_MS) {
      earlier.count++;
      earlier.at = now;
      const patch = { count: earlier.count, lastTimestamp: stamp };
      await this.client.patch(EVENTS, earlier.namespace, earlier.name, 'merge', patch);
      return;
    }
    const name = `${target.name}.${(BigInt(now) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n)).toString(16)}`;
    await this.client.create(EVENTS, namespace, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: target.kind,
        ...(target.kind === 'Pod' ? { namespace: target.namespace } : {}),
        name: target.name,
        uid: target.uid,
        ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
        ...(target.fieldPath ? { fieldPath: target.fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.nodeName },
      reportingComponent: 'kubelet',
      reportingInstance: this.nodeName,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
    } as KubeObject);
    if (this.seen.size >= REMEMBERED_MAX) this.seen.clear();
    this.seen.set(key, { namespace, name, count: 1, at: now });
  }
}
