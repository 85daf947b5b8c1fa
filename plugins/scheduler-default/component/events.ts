/**
 * The scheduler's events (Scheduled, FailedScheduling, Preempted), written as upstream's
 * events.k8s.io/v1 recorder writes them and as they read through the core v1 API: eventTime,
 * action, reportingComponent default-scheduler, reportingInstance default-scheduler-<host>, no
 * count or first/last timestamps. Repeats of one event about one pod within 6 minutes become a
 * series (series.count, lastObservedTime) instead of new objects, as upstream's recorder does.
 * Written in the background, a few at a time: a slow API must not slow scheduling down.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { type ApiClient, CORE_V1, type KubeObject } from 'skiff/sdk';
import { nowMicroTime } from 'skiff/sdk/client';
import type { EventSink } from '../framework/handle.js';

const EVENTS = CORE_V1('events');
const SERIES_WINDOW_MS = 6 * 60_000;
/** As upstream's event broadcaster: one writer, at most 1,000 events queued, the rest dropped. */
const MAX_IN_FLIGHT = 1;
const MAX_PENDING = 1_000;
/** Upstream's NoteLengthLimit, with its " ..." suffix when cut. */
const NOTE_LIMIT = 1024;

export function truncateNote(note: string): string {
  return note.length <= NOTE_LIMIT ? note : `${note.slice(0, NOTE_LIMIT - 4)} ...`;
}

interface Recorded {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

function reference(o: KubeObject) {
  return {
    kind: o.kind ?? 'Pod',
    namespace: o.metadata.namespace,
    name: o.metadata.name,
    uid: o.metadata.uid,
    apiVersion: o.apiVersion ?? 'v1',
    resourceVersion: o.metadata.resourceVersion,
  };
}

export class EventRecorder implements EventSink {
  private readonly pending: (() => Promise<void>)[] = [];
  private readonly series = new Map<string, Recorded>();
  private inFlight = 0;
  /** Events dropped because the API fell behind (upstream logs each; counted here). */
  dropped = 0;
  readonly instance: string;

  constructor(
    private readonly client: ApiClient | undefined,
    private readonly logger: Logger,
    readonly component = 'default-scheduler',
  ) {
    this.instance = `${component}-${hostname()}`;
  }

  record(
    regarding: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    note: string,
    related?: KubeObject,
  ): void {
    if (!this.client) return;
    const message = truncateNote(note);
    const key = `${regarding.metadata.uid}\u0000${reason}\u0000${action}\u0000${message}`;
    const now = Date.now();
    const earlier = this.series.get(key);
    if (earlier && now - earlier.at < SERIES_WINDOW_MS) {
      earlier.count++;
      earlier.at = now;
      const count = earlier.count;
      this.enqueue(() =>
        this.client!.patch(EVENTS, earlier.namespace, earlier.name, 'merge', {
          series: { count, lastObservedTime: nowMicroTime() },
        }).then(() => undefined),
      );
      return;
    }
    const namespace = regarding.metadata.namespace || 'default';
    const name = `${regarding.metadata.name}.${this.uniqueNanos().toString(16)}`;
    if (reason === 'FailedScheduling') this.series.set(key, { name, namespace, count: 1, at: now });
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: reference(regarding),
      ...(related ? { related: reference(related) } : {}),
      reason,
      message,
      source: {},
      type,
      eventTime: nowMicroTime(),
      action,
      reportingComponent: this.component,
      reportingInstance: this.instance,
    } as unknown as KubeObject;
    this.enqueue(() => this.client!.create(EVENTS, namespace, event).then(() => undefined));
    if (this.series.size > MAX_PENDING) this.forgetOldSeries(now);
  }

  private lastNanos = 0n;

  /** Upstream names an event "<object>.<UnixNano in hex>"; two in one nanosecond get the next one. */
  private uniqueNanos(): bigint {
    const nanos = BigInt(Date.now()) * 1_000_000n;
    this.lastNanos = nanos > this.lastNanos ? nanos : this.lastNanos + 1n;
    return this.lastNanos;
  }

  private forgetOldSeries(now: number): void {
    for (const [k, v] of this.series) if (now - v.at >= SERIES_WINDOW_MS) this.series.delete(k);
  }

  private enqueue(write: () => Promise<void>): void {
    if (this.pending.length >= MAX_PENDING) {
      // The API is far behind: drop, as upstream's broadcaster does (DropIfChannelFull).
      if (this.dropped++ % 1000 === 0)
        this.logger.warn({ dropped: this.dropped }, 'too many queued events: dropping events');
      return;
    }
    this.pending.push(write);
    this.drain();
  }

  private drain(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.pending.length) {
      const write = this.pending.shift()!;
      this.inFlight++;
      write()
        .catch((err: unknown) => this.logger.debug({ err }, 'could not write an event'))
        .finally(() => {
          this.inFlight--;
          this.drain();
        });
    }
  }

  /** Resolves once every event recorded so far is written (or failed). */
  async flush(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.pending.length || this.inFlight) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }
}
