/**
 * Load shedding, as upstream's max-in-flight filter: at most --max-requests-inflight read-only and
 * --max-mutating-requests-inflight mutating requests are served at once; one more gets 429 with
 * Retry-After: 1 at once (no queue). Long-running requests (watch, proxy, and the exec, attach, log,
 * portforward and proxy subresources) are not counted, so watches never starve ordinary requests nor
 * are starved by them. system:masters is never refused (upstream: "a super-admin or a loopback
 * connection ... should always get an answer"), nor are health probes (upstream's priority-and-
 * fairness puts /healthz, /livez and /readyz in the exempt level), so a server shedding load still
 * tells its supervisor it is alive.
 *
 * On top of upstream, a byte budget bounds the request bodies held at once: mutating in-flight ×
 * the largest body (200 × 3 MiB) is far more memory than a small server has.
 */

import type { RequestInfo } from '../api/request-info.js';
import type { UserInfo } from '../auth-types.js';
import { errors, type StatusError } from '../errors.js';

export type RequestKind = 'readOnly' | 'mutating';

export interface InflightLimits {
  /** Read-only requests served at once; 0 = no limit (upstream --max-requests-inflight). */
  readOnly: number;
  /** Mutating requests served at once; 0 = no limit (upstream --max-mutating-requests-inflight). */
  mutating: number;
}

// Upstream's nonMutatingRequestVerbs: everything else, non-resource POSTs included, is mutating.
const READ_ONLY_VERBS = new Set(['get', 'list', 'watch']);
// Upstream's BasicLongRunningRequestCheck as kube-apiserver configures it.
const LONG_RUNNING_VERBS = new Set(['watch', 'proxy']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);
const PROBES = new Set(['healthz', 'livez', 'readyz']);
const PRIVILEGED_GROUP = 'system:masters';
// How often the reported gauge takes the last period's high-water mark (upstream: one second).
const WATERMARK_PERIOD_MS = 1000;

export function isLongRunning(info: RequestInfo): boolean {
  if (LONG_RUNNING_VERBS.has(info.verb)) return true;
  if (info.resourceRequest) return LONG_RUNNING_SUBRESOURCES.has(info.subresource);
  return info.path.startsWith('/debug/pprof/');
}

/** GET of /healthz, /livez, /readyz or one of their checks (/livez/ping). */
export function isHealthProbe(info: RequestInfo): boolean {
  return !info.resourceRequest && info.verb === 'get' && PROBES.has(info.path.split('/')[1] ?? '');
}

export const kindOf = (info: RequestInfo): RequestKind => (READ_ONLY_VERBS.has(info.verb) ? 'readOnly' : 'mutating');

const isPrivileged = (user: UserInfo | undefined) => !!user?.groups.includes(PRIVILEGED_GROUP);

/** The answer to a request over the limit: upstream's message, retry after one second. */
export const overloaded = (): StatusError => errors.tooManyRequests('Too many requests, please try again later.', 1);

export class InflightLimiter {
  private readonly current: Record<RequestKind, number> = { readOnly: 0, mutating: 0 };
  private readonly peak: Record<RequestKind, number> = { readOnly: 0, mutating: 0 };
  private readonly reported: Record<RequestKind, number> = { readOnly: 0, mutating: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly limits: InflightLimits) {
    this.timer = setInterval(() => this.publishWatermark(), WATERMARK_PERIOD_MS);
    this.timer.unref();
  }

  /**
   * Takes a slot for the request and returns its kind (give it back with release), or undefined
   * when the request needs none (long-running, a health probe, or system:masters over the limit).
   * Throws 429 when the request's kind is at its limit.
   */
  admit(info: RequestInfo, user: UserInfo | undefined): RequestKind | undefined {
    if (isLongRunning(info) || isHealthProbe(info)) return undefined;
    const kind = kindOf(info);
    const limit = this.limits[kind];
    if (limit > 0 && this.current[kind] >= limit) {
      if (isPrivileged(user)) return undefined;
      throw overloaded();
    }
    this.record(kind, 1);
    return kind;
  }

  release(kind: RequestKind): void {
    this.record(kind, -1);
  }

  /** The highest in-flight count of each kind in the last second (upstream's gauge). */
  watermark(): Readonly<Record<RequestKind, number>> {
    return this.reported;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private record(kind: RequestKind, delta: number): void {
    this.current[kind] += delta;
    if (this.current[kind] > this.peak[kind]) this.peak[kind] = this.current[kind];
  }

  private publishWatermark(): void {
    for (const kind of ['readOnly', 'mutating'] as const) {
      this.reported[kind] = this.peak[kind];
      this.peak[kind] = this.current[kind];
    }
  }
}

/**
 * The request-body bytes all requests may hold at once. A body takes its declared length before a
 * byte is read (or its chunks as they come, when the length is not declared) and gives it back when
 * its request ends, since the decoded object lives that long. Over budget → 429: refusing instead of
 * waiting means partly read bodies can never wait on each other.
 */
export class BodyBudget {
  private held = 0;

  /** limitBytes 0 = no limit. */
  constructor(private readonly limitBytes: number) {}

  /** A per-request account; `exempt` (system:masters) is counted but never refused. */
  account(user: UserInfo | undefined): BodyAccount {
    return new BodyAccount(this, isPrivileged(user));
  }

  /** Bytes held right now (for tests and the benchmark). */
  get bytesHeld(): number {
    return this.held;
  }

  /** @internal */
  take(bytes: number, exempt: boolean): boolean {
    if (!exempt && this.limitBytes > 0 && this.held + bytes > this.limitBytes) return false;
    this.held += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.held -= bytes;
  }
}

export class BodyAccount {
  private taken = 0;

  constructor(
    private readonly budget: BodyBudget,
    private readonly exempt: boolean,
  ) {}

  /** Takes `bytes` more for this request; throws 429 when the budget cannot spare them. */
  reserve(bytes: number): void {
    if (!this.budget.take(bytes, this.exempt)) throw overloaded();
    this.taken += bytes;
  }

  /** Gives back everything this request took (at its end). */
  release(): void {
    this.budget.give(this.taken);
    this.taken = 0;
  }
}
