/** Candidates, fault injection and overlap sampling for the leader-election tests. */
import { pino } from 'pino';
import type { KubeObject } from '../../core/api/types.js';
import type { LeaderElectorOptions } from '../../core/client/leader-election.js';
import type { ApiClient, ResourceRef, WriteOptions } from '../../core/client/types.js';
import { StatusError } from '../../core/errors.js';
import { LeaseElector } from '../../plugins/leader-election-lease/elector.js';
import { LEASES, type LeaderElectionRecord, statusCode } from '../../plugins/leader-election-lease/lease.js';

export const logger = pino({ level: process.env.SKIFF_TEST_LOG ?? 'silent' });

/** Short timings so the suite is fast: expiry 1 s, give up after 0.5 s, retry every 0.2 s. */
export const FAST = { leaseDuration: 1, renewDeadline: 0.5, retryPeriod: 0.2 };
/** The longest a candidate may need to notice a change and act: one jittered retry (× 2.2). */
export const JITTERED_RETRY_MS = FAST.retryPeriod * 1000 * 2.2;

export interface Candidate {
  elector: LeaseElector;
  /** performance.now() when it started and stopped leading. */
  started?: number;
  stopped?: number;
  newLeaders: string[];
  stoppedLeading: boolean;
  leading(): boolean;
  /** Abort its run() (releasing only if releaseOnCancel) and wait until run() resolves. */
  stop(): Promise<void>;
  done: Promise<void>;
}

export function candidate(client: ApiClient, options: Partial<LeaderElectorOptions> & { name: string }): Candidate {
  const abort = new AbortController();
  const elector = new LeaseElector({ client, logger, ...FAST, releaseOnCancel: true, ...options });
  let leaderSignal: AbortSignal | undefined;
  const c: Candidate = {
    elector,
    newLeaders: [],
    stoppedLeading: false,
    leading: () => !!leaderSignal && !leaderSignal.aborted,
    stop: async () => {
      abort.abort();
      await c.done;
    },
    done: Promise.resolve(),
  };
  c.done = elector.run(abort.signal, {
    onStartedLeading(signal) {
      c.started = performance.now();
      leaderSignal = signal;
      return new Promise<void>((resolve) =>
        signal.addEventListener(
          'abort',
          () => {
            c.stopped = performance.now();
            resolve();
          },
          { once: true },
        ),
      );
    },
    onStoppedLeading: () => {
      c.stoppedLeading = true;
    },
    onNewLeader: (id) => c.newLeaders.push(id),
  });
  return c;
}

/** Lets the first `n` calls through only together (or after `ms`), to force a write race. */
export function barrier(n: number, ms = 3_000): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const timer = setTimeout(() => open(), ms).unref();
  return async () => {
    if (++arrived > n) return;
    if (arrived === n) {
      clearTimeout(timer);
      open();
    }
    await opened;
  };
}

export interface Faulty {
  client: ApiClient;
  /** While true every call fails with a 503, as an unreachable API server. */
  broken: boolean;
  conflicts: number;
  /** performance.now() when the last successful update was sent. */
  lastUpdateSent: number;
  /** Awaited before each create and update (see barrier). */
  gate?: () => Promise<void>;
}

export function faulty(inner: ApiClient): Faulty {
  const f: Faulty = { client: inner, broken: false, conflicts: 0, lastUpdateSent: 0 };
  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    if (f.broken) throw new StatusError(503, 'ServiceUnavailable', 'injected fault: the API server is unreachable');
    try {
      return await call();
    } catch (err) {
      if (statusCode(err) === 409) f.conflicts++;
      throw err;
    }
  };
  f.client = {
    get: (r, ns, name, sub) => guard(() => inner.get(r, ns, name, sub)),
    list: (r, ns, o) => guard(() => inner.list(r, ns, o)),
    async create<T extends KubeObject>(r: ResourceRef, ns: string, obj: KubeObject, o?: WriteOptions) {
      await f.gate?.();
      return guard(() => inner.create<T>(r, ns, obj, o));
    },
    async update<T extends KubeObject>(r: ResourceRef, ns: string, obj: KubeObject, o?: WriteOptions) {
      await f.gate?.();
      const sent = performance.now();
      const out = await guard(() => inner.update<T>(r, ns, obj, o));
      f.lastUpdateSent = sent;
      return out;
    },
    patch: (r, ns, name, type, p, o) => guard(() => inner.patch(r, ns, name, type, p, o)),
    delete: (r, ns, name, o) => guard(() => inner.delete(r, ns, name, o)),
    watch: (r, ns, o, on) => inner.watch(r, ns, o, on),
  };
  return f;
}

/** Samples how many of `count()` are active every 5 ms until stopped; the highest count seen. */
export function sampleOverlap(count: () => number): { stop(): { max: number; samples: number; none: number } } {
  let max = 0;
  let samples = 0;
  let none = 0;
  const timer = setInterval(() => {
    const n = count();
    samples++;
    if (n === 0) none++;
    max = Math.max(max, n);
  }, 5);
  // A failed test must not keep mocha alive through a forgotten sampler.
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return { max, samples, none };
    },
  };
}

/** Polls every 5 ms until `cond` holds; fails after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Lease = KubeObject & { spec: LeaderElectionRecord };

export function readLease(client: ApiClient, name: string): Promise<Lease> {
  return client.get<Lease>(LEASES, 'kube-system', name);
}

export const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
