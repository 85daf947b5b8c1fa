/**
 * Leader election through a coordination.k8s.io/v1 Lease, with the semantics of client-go's
 * leaderelection package and its LeaseLock. It only talks through an ApiClient, so it works on
 * every storage backend and over the in-process or the HTTPS client.
 *
 * A candidate takes the lease when it is absent, released (no holder), held by the candidate's own
 * identity, or expired. Expiry is judged on the local monotonic clock: a lease has expired when it
 * has not changed for its leaseDurationSeconds since this candidate last saw it change, whatever its
 * renewTime says, so clock skew between machines does not matter. Every write is an optimistic
 * update on the resourceVersion last seen: of two candidates racing, one gets a 409 and waits.
 * The leader renews every retryPeriod and gives leadership up when it cannot renew within
 * renewDeadline, which is shorter than the lease, so it stops before anyone else may start.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { type KubeObject, SkiffError } from 'skiff/sdk';
import {
  type ApiClient,
  type LeaderCallbacks,
  type LeaderElector,
  type LeaderElectorOptions,
  nowMicroTime,
} from 'skiff/sdk/client';
import {
  type ElectionConfig,
  electionConfig,
  JITTER_FACTOR,
  LEASES,
  type LeaderElectionRecord,
  leaseWith,
  NO_RECORD,
  newLease,
  rawRecord,
  recordOf,
  statusCode,
} from './lease.js';

export class LeaseElector implements LeaderElector {
  readonly identity: string;
  private readonly c: ElectionConfig;
  private readonly client: ApiClient;
  private readonly log: Logger;
  /** The lease as last read or written: its resourceVersion makes the next write optimistic. */
  private lease?: KubeObject;
  private observed: LeaderElectionRecord = NO_RECORD;
  private observedRaw = '';
  /** performance.now() when `observed` last changed. */
  private observedAt = 0;
  private reportedLeader = '';
  private running = false;

  constructor(options: LeaderElectorOptions) {
    this.c = electionConfig(options);
    this.identity = this.c.identity;
    this.client = options.client;
    this.log = options.logger.child({ lease: `${this.c.namespace}/${this.c.name}`, identity: this.identity });
  }

  /** Whether the lease, as last observed, names this candidate. */
  isLeader(): boolean {
    return this.observed.holderIdentity === this.identity;
  }

  /** The holder as last observed ('' when none). */
  leader(): string {
    return this.observed.holderIdentity;
  }

  /** Campaign until leading, lead until leadership is lost or `signal` aborts, then resolve.
   * Like upstream's Run it is one term: call it again to campaign again. */
  async run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void> {
    if (this.running) {
      throw new SkiffError(
        'SKIFF_LEADER_ELECTION_RUNNING',
        `leader election for ${this.c.namespace}/${this.c.name} is already running in this elector`,
        'await the running run() before calling it again, or create a second elector',
      );
    }
    this.running = true;
    try {
      if (await this.acquire(signal, callbacks)) await this.lead(signal, callbacks);
    } finally {
      this.running = false;
    }
  }

  private async acquire(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<boolean> {
    this.log.info('attempting to acquire the leader lease');
    while (!signal.aborted) {
      const acquired = await this.tryAcquireOrRenew(signal);
      this.reportTransition(callbacks);
      if (acquired && !signal.aborted) {
        this.log.info('acquired the leader lease');
        return true;
      }
      if (acquired) await this.releaseIfAsked();
      else await pause(this.c.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR), signal);
    }
    return false;
  }

  private async lead(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void> {
    const leading = new AbortController();
    // Every informer and queue of the guarded work listens to this one signal.
    setMaxListeners(0, leading.signal);
    const stop = () => leading.abort();
    signal.addEventListener('abort', stop, { once: true });
    const work = this.guard('onStartedLeading', () => callbacks.onStartedLeading(leading.signal));
    try {
      await this.renew(leading.signal, callbacks);
    } finally {
      leading.abort();
      signal.removeEventListener('abort', stop);
      this.log.info('stopped leading');
      await work;
      await this.releaseIfAsked();
      await this.guard('onStoppedLeading', () => callbacks.onStoppedLeading?.());
    }
  }

  /** Renew every retryPeriod; return when a round cannot renew within renewDeadline, or on stop. */
  private async renew(leading: AbortSignal, callbacks: LeaderCallbacks): Promise<void> {
    while (!leading.aborted) {
      const round = deadline(leading, this.c.renewDeadlineMs);
      let renewed = false;
      try {
        renewed = await this.tryAcquireOrRenew(round.signal);
        // Unlike upstream, stop retrying at once when the lease names someone else: they lead now.
        while (!renewed && this.isLeader() && (await pause(this.c.retryPeriodMs, round.signal))) {
          renewed = await this.tryAcquireOrRenew(round.signal);
        }
      } finally {
        round.dispose();
      }
      this.reportTransition(callbacks);
      if (!renewed) {
        if (!leading.aborted) this.log.error('could not renew the leader lease within renewDeadline; giving it up');
        return;
      }
      await pause(this.c.retryPeriodMs, leading);
    }
  }

  /** One attempt, as upstream's tryAcquireOrRenew. Never throws: false means "not (yet) ours". */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = performance.now();
    const stamp = nowMicroTime();
    const mine: LeaderElectionRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.c.leaseDurationSeconds,
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: 0,
    };
    // 1. The leader writes on top of what it wrote last, without reading first; a 409 means the
    // lease changed behind its back, so it reads and decides again.
    if (this.isLeader() && this.isValid(now)) {
      const renewal = {
        ...mine,
        acquireTime: this.observed.acquireTime,
        leaseTransitions: this.observed.leaseTransitions,
      };
      if (await this.attempt('renew the lease optimistically', signal, () => this.write(renewal, signal))) return true;
    }
    // 2. Read it, or create it when absent.
    let current: KubeObject;
    try {
      current = await bounded(this.client.get<KubeObject>(LEASES, this.c.namespace, this.c.name), signal);
    } catch (err) {
      if (statusCode(err) === 404) return this.attempt('create the lease', signal, () => this.create(mine, signal));
      if (!signal.aborted) this.log.warn({ err }, 'could not read the leader lease');
      return false;
    }
    this.lease = current;
    const record = recordOf(current);
    const raw = rawRecord(record);
    if (raw !== this.observedRaw) this.observe(record, raw);
    // 3. Held by someone else and not expired: wait.
    if (record.holderIdentity && this.isValid(now) && !this.isLeader()) {
      this.log.debug({ holder: record.holderIdentity }, 'the lease is held by another candidate and has not expired');
      return false;
    }
    // 4. Take it over (a new holder counts one more transition), or renew it.
    const next = this.isLeader()
      ? { ...mine, acquireTime: record.acquireTime, leaseTransitions: record.leaseTransitions }
      : { ...mine, leaseTransitions: record.leaseTransitions + 1 };
    return this.attempt('update the lease', signal, () => this.write(next, signal));
  }

  private isValid(now: number): boolean {
    return this.observedAt + this.observed.leaseDurationSeconds * 1000 > now;
  }

  private observe(record: LeaderElectionRecord, raw = rawRecord(record)): void {
    this.observed = record;
    this.observedRaw = raw;
    this.observedAt = performance.now();
  }

  private async create(record: LeaderElectionRecord, signal: AbortSignal): Promise<void> {
    this.lease = await bounded(
      this.client.create<KubeObject>(LEASES, this.c.namespace, newLease(this.c, record)),
      signal,
    );
    this.observe(record);
  }

  private async write(record: LeaderElectionRecord, signal: AbortSignal): Promise<void> {
    // As upstream's LeaseLock: there is nothing to update before the lease was read or created.
    if (!this.lease) throw new SkiffError('SKIFF_LEADER_ELECTION_NO_LEASE', 'no lease read yet', 'read it first');
    this.lease = await bounded(
      this.client.update<KubeObject>(LEASES, this.c.namespace, leaseWith(this.lease, record)),
      signal,
    );
    this.observe(record);
  }

  /** Run one write; log why it failed (a 409 is the normal outcome of a lost race). */
  private async attempt(what: string, signal: AbortSignal, write: () => Promise<void>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      const lostRace = statusCode(err) === 409;
      this.log[lostRace ? 'debug' : 'warn'](
        { err },
        `could not ${what}${lostRace ? ': another candidate wrote first' : ''}`,
      );
      return false;
    }
  }

  /** Upstream's release: no holder, a one-second lease, so the next candidate takes it at once. */
  private async releaseIfAsked(): Promise<void> {
    if (!this.c.releaseOnCancel || !this.isLeader()) return;
    const stamp = nowMicroTime();
    const released: LeaderElectionRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: this.observed.leaseTransitions,
    };
    const round = deadline(undefined, this.c.renewDeadlineMs);
    try {
      if (!(await this.writeRelease(released, round.signal))) return;
      this.log.info('released the leader lease');
    } catch (err) {
      this.log.error({ err }, 'could not release the leader lease; the others take it once it expires');
    } finally {
      round.dispose();
    }
  }

  /**
   * A renewal cut short by the stop may still have landed, leaving the version last read behind
   * (a 409): then read the lease and release it if it is still ours. False when it no longer is.
   */
  private async writeRelease(released: LeaderElectionRecord, signal: AbortSignal): Promise<boolean> {
    try {
      await this.write(released, signal);
      return true;
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
    this.lease = await bounded(this.client.get<KubeObject>(LEASES, this.c.namespace, this.c.name), signal);
    const current = recordOf(this.lease);
    if (current.holderIdentity !== this.identity) return false;
    await this.write({ ...released, leaseTransitions: current.leaseTransitions }, signal);
    return true;
  }

  private reportTransition(callbacks: LeaderCallbacks): void {
    const holder = this.observed.holderIdentity;
    if (holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (holder) this.log.info({ leader: holder }, 'new leader');
    void this.guard('onNewLeader', () => callbacks.onNewLeader?.(holder));
  }

  /** A throwing callback is logged; it must not end the election loop. */
  private async guard(name: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log.error({ err, callback: name }, 'leader election callback failed');
    }
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A signal that aborts after `ms` or with `parent`; dispose() drops the timer and the listener. */
function deadline(parent: AbortSignal | undefined, ms: number): { signal: AbortSignal; dispose(): void } {
  const c = new AbortController();
  const onAbort = () => c.abort();
  const timer = setTimeout(onAbort, ms);
  parent?.addEventListener('abort', onAbort, { once: true });
  if (parent?.aborted) c.abort();
  return {
    signal: c.signal,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

/** The ApiClient takes no signal, so a request that hangs past the deadline is abandoned: its late
 * answer is ignored, and the resourceVersion it would have brought is never used. */
function bounded<T>(request: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () =>
      reject(
        new SkiffError(
          'SKIFF_LEADER_ELECTION_ABANDONED',
          'a lease request was abandoned: the renew deadline passed or the elector stopped',
          'check that the API server answers quickly; a longer renewDeadline tolerates slower answers',
        ),
      );
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    request.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
