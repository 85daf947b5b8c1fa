/**
 * Recording core/v1 Events as client-go's event recorder does for controllers: the Event is named
 * `<object>.<hex nanoseconds>` in the object's namespace (`default` for cluster-scoped objects) with
 * source.component and reportingComponent set to the controller; an identical Event (same object,
 * type, reason and message) is not created again but has its count raised (client-go's
 * EventLogger); and each object may get 25 Events at once, then one per 5 minutes (client-go's
 * spam filter), so a burst of 1,000 pod creations does not write 1,000 Events. Recording never
 * blocks the controller and never fails it: a refused write is logged at debug.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/types.js';
import type { ApiClient } from '../client/types.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** Records an Event about `object` (its kind and apiVersion from `kind` when the object lacks them). */
  event(
    object: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    kind?: { apiVersion: string; kind: string },
  ): void;
}

const EVENTS = { group: '', version: 'v1', resource: 'events' };
const BURST = 25;
const REFILL_MS = 300_000;
const REMEMBERED = 4096;

/** Adds to a bounded map, forgetting the oldest entry when full. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (!map.has(key) && map.size >= REMEMBERED) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

/** client-go's spam filter: a token bucket per object. */
class SpamFilter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  allows(uid: string, now = Date.now()): boolean {
    const bucket = this.buckets.get(uid) ?? { tokens: BURST, at: now };
    bucket.tokens = Math.min(BURST, bucket.tokens + (now - bucket.at) / REFILL_MS);
    bucket.at = now;
    remember(this.buckets, uid, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }
}

const timestamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

class Recorder implements EventRecorder {
  private readonly seen = new Map<string, { name: string; namespace: string; count: number }>();
  private readonly filter = new SpamFilter();
  private sequence = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly component: string,
    private readonly logger: Logger,
  ) {}

  event(
    object: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    kind?: { apiVersion: string; kind: string },
  ) {
    const meta = object.metadata;
    const uid = meta.uid ?? `${meta.namespace}/${meta.name}`;
    if (!this.filter.allows(uid)) return;
    const key = JSON.stringify([uid, type, reason, message]);
    const known = this.seen.get(key);
    if (known) {
      known.count++;
      const patch = { count: known.count, lastTimestamp: timestamp() };
      return this.write(this.client.patch(EVENTS, known.namespace, known.name, 'merge', patch));
    }
    const event = this.newEvent(object, type, reason, message, kind);
    remember(this.seen, key, { name: event.metadata.name!, namespace: event.metadata.namespace!, count: 1 });
    this.write(this.client.create(EVENTS, event.metadata.namespace!, event));
  }

  private newEvent(
    object: KubeObject,
    type: EventType,
    reason: string,
    message: string,
    kind?: { apiVersion: string; kind: string },
  ): KubeObject {
    const meta = object.metadata;
    const nanos = BigInt(Date.now()) * 1_000_000n + BigInt(this.sequence++ % 1_000_000);
    const now = timestamp();
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${meta.name}.${nanos.toString(16)}`, namespace: meta.namespace || 'default' },
      involvedObject: {
        kind: object.kind ?? kind?.kind,
        namespace: meta.namespace,
        name: meta.name,
        uid: meta.uid,
        apiVersion: object.apiVersion ?? kind?.apiVersion,
        resourceVersion: meta.resourceVersion,
      },
      reason,
      message,
      source: { component: this.component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: this.component,
      reportingInstance: '',
    };
  }

  private write(work: Promise<unknown>): void {
    work.catch((err) => this.logger.debug({ err, component: this.component }, 'could not record an event'));
  }
}

export function eventRecorder(client: ApiClient, component: string, logger: Logger): EventRecorder {
  return new Recorder(client, component, logger);
}
