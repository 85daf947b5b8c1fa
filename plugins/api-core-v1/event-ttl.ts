/**
 * Events expire (kube-apiserver's --event-ttl, 1 h by default): upstream stores each event under an
 * etcd lease that every write renews, so an event goes once nothing has written it for the TTL.
 * Skiff's backends have no leases, so a sweep deletes them instead: an event whose newest write
 * (the latest of its timestamps and field managers' times) is older than the TTL. Each delete is
 * guarded by the resourceVersion read, so an event written meanwhile stays, and several API
 * servers sweeping one store only race to the same answer.
 */
import type { Logger } from 'pino';
import { isStatusError, type KubeObject } from 'skiff/sdk';
import { type ApiClient, CORE_V1 } from 'skiff/sdk/client';

const EVENTS = CORE_V1('events');
const PAGE = 500;
/** At most this long between sweeps, so an expired event is gone within TTL + 1 min. */
const MAX_SWEEP_INTERVAL_MS = 60_000;

interface EventTimes {
  lastTimestamp?: string;
  firstTimestamp?: string;
  eventTime?: string;
  series?: { lastObservedTime?: string };
  metadata: { creationTimestamp?: string; managedFields?: { time?: string }[] };
}

/** When the event was last written, as far as its own fields tell (ms since the epoch). */
export function lastWrittenAt(event: KubeObject): number {
  const e = event as unknown as EventTimes;
  const stamps = [
    e.metadata.creationTimestamp,
    e.lastTimestamp,
    e.firstTimestamp,
    e.eventTime,
    e.series?.lastObservedTime,
    ...(e.metadata.managedFields ?? []).map((f) => f.time),
  ];
  let newest = 0;
  for (const s of stamps) {
    const t = s ? Date.parse(s) : Number.NaN;
    if (t > newest) newest = t;
  }
  return newest;
}

export class EventExpiry {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly client: ApiClient,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const every = Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(100, (this.ttlSeconds * 1000) / 4));
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.warn({ err }, 'could not delete expired events'))
        .finally(() => {
          this.sweeping = undefined;
        });
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One pass over every event; returns how many expired. */
  async sweep(now = Date.now()): Promise<number> {
    const cutoff = now - this.ttlSeconds * 1000;
    let expired = 0;
    let token: string | undefined;
    do {
      const page = await this.client.list(EVENTS, '', { limit: PAGE, continue: token });
      for (const event of page.items) {
        if (this.stopped) return expired;
        if (lastWrittenAt(event) > cutoff) continue;
        if (await this.expire(event)) expired++;
      }
      token = page.metadata.continue;
    } while (token && !this.stopped);
    return expired;
  }

  private async expire(event: KubeObject): Promise<boolean> {
    const { namespace = '', name = '', resourceVersion } = event.metadata;
    try {
      await this.client.delete(EVENTS, namespace, name, { preconditions: { resourceVersion } });
      return true;
    } catch (err) {
      // Gone already, or written since it was read (so not expired after all).
      if (isStatusError(err) && (err.code === 404 || err.code === 409)) return false;
      throw err;
    }
  }
}
