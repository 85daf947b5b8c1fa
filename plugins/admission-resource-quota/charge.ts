/**
 * Charging quotas without ever letting usage pass a hard limit, after upstream's quota admission:
 * requests for one namespace queue up and are evaluated in batches against the quotas' status;
 * the batch's charges are written with an optimistic update of each quota's status (compare and
 * swap on its resourceVersion). On a conflict (the quota controller or another API server wrote
 * first) the charges already written are refunded and the batch is evaluated again from fresh
 * quotas, a bounded number of times; after that the batch is refused: unsure means no.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  type AdmissionAttributes,
  errors,
  forbidden,
  isStatusError,
  type KubeObject,
  type StatusError,
} from 'skiff/sdk';
import {
  addUsage,
  formatScopes,
  type GroupResource,
  prettyPrint,
  type QuotaEvaluator,
  type ScopeSelector,
  type Usage,
  usageFromList,
  usageToList,
} from 'skiff/sdk/quota';

export interface QuotaAccess {
  /**
   * Every ResourceQuota in the namespace: as the cache holds them (with this plugin's own newest
   * writes), or, `fresh`, current as of the newest write (after a conflict).
   */
  list(namespace: string, fresh: boolean): Promise<KubeObject[]>;
  /** Write status.used if the quota is still at `resourceVersion`; false on a conflict. */
  writeUsed(quota: KubeObject, used: Record<string, string>, resourceVersion: string): Promise<boolean>;
  /** Take back a charge whatever the quota's version (always safe: it only lowers what we added). */
  refund(namespace: string, name: string, delta: Usage): Promise<void>;
}

export interface LimitedResource {
  apiGroup: string;
  resource: string;
  matchContains: string[];
  /** Objects matching one of these may only be created where a quota has a scope of that name. */
  matchScopes: ScopeSelector[];
}

interface Pending {
  attributes: AdmissionAttributes;
  resolve(): void;
  reject(err: StatusError): void;
}

interface WorkingQuota {
  quota: KubeObject;
  used: Usage;
  delta: Usage;
  /** spec.hard, and status.hard parsed: read once per batch, not once per request. */
  hard: Record<string, unknown>;
  statusHard: Usage;
  /** restrictedResources(hard, r) by "group/resource". */
  restricted: Map<string, string[]>;
  scopes: ScopeSelector[];
}

function working(evaluator: QuotaEvaluator, quota: KubeObject): WorkingQuota {
  const status = objectAt(quota.status);
  return {
    quota,
    used: usageFromList(status.used),
    delta: new Map(),
    hard: objectAt(objectAt(quota.spec).hard),
    statusHard: usageFromList(status.hard),
    restricted: new Map(),
    scopes: evaluator.quotaScopes(quota),
  };
}

function restrictedOf(evaluator: QuotaEvaluator, q: WorkingQuota, r: GroupResource): string[] {
  const key = `${r.group}/${r.resource}`;
  let names = q.restricted.get(key);
  if (!names) {
    names = evaluator.matchingResources(q.hard, r);
    q.restricted.set(key, names);
  }
  return names;
}

const MAX_ATTEMPTS = 5;

export class QuotaCharger {
  private readonly queues = new Map<string, Pending[]>();

  constructor(
    private readonly access: QuotaAccess,
    private readonly evaluator: QuotaEvaluator,
    private readonly limited: LimitedResource[] = [],
  ) {}

  /** Resolves when the request fits every quota (and has been charged), rejects with a Status otherwise. */
  charge(attributes: AdmissionAttributes): Promise<void> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(attributes.namespace);
      const pending = { attributes, resolve, reject };
      if (queue) queue.push(pending);
      else {
        this.queues.set(attributes.namespace, [pending]);
        void this.drain(attributes.namespace);
      }
    });
  }

  /** One worker per namespace: take everything queued, settle it, repeat until the queue is empty. */
  private async drain(namespace: string): Promise<void> {
    for (;;) {
      // Let the requests that have already arrived reach the queue first: each batch costs one
      // quota write and one commit cycle, so fewer, larger batches leave the server more for requests.
      await nextTurn();
      const batch = this.queues.get(namespace) ?? [];
      if (batch.length === 0) {
        this.queues.delete(namespace);
        return;
      }
      this.queues.set(namespace, []);
      try {
        await this.settle(namespace, batch);
      } catch (err) {
        // A Status (storage unavailable: 503, a timeout: 504) already says what went wrong.
        const failure = isStatusError(err)
          ? err
          : errors.internal(`charging resource quotas failed: ${(err as Error).message}`);
        for (const p of batch) p.reject(failure);
      }
    }
  }

  private async settle(namespace: string, batch: Pending[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      // A stale quota only costs a conflict (the write compares its resourceVersion): the first
      // attempt reads the cache, a retry reads for sure.
      const quotas = (await this.access.list(namespace, attempt > 1)).map((q) => working(this.evaluator, q));
      if (quotas.length === 0 && this.limited.length === 0) {
        for (const p of batch) p.resolve();
        return;
      }
      const verdicts = batch.map((p) => this.evaluate(p.attributes, quotas));
      const written = await this.write(quotas);
      if (written === 'ok') {
        batch.forEach((p, i) => {
          const refusal = verdicts[i];
          if (refusal) p.reject(refusal);
          else p.resolve();
        });
        return;
      }
      if (attempt >= MAX_ATTEMPTS) {
        const busy = errors.conflict(
          { group: '', resource: 'resourcequotas' },
          written,
          'the object has been modified; please apply your changes to the latest version and try again',
        );
        for (const p of batch) p.reject(busy);
        return;
      }
    }
  }

  /** Writes every changed quota; on a conflict refunds what was written and names the quota. */
  private async write(quotas: WorkingQuota[]): Promise<'ok' | string> {
    const done: WorkingQuota[] = [];
    for (const q of quotas) {
      if (q.delta.size === 0) continue;
      const ok = await this.access.writeUsed(q.quota, usageToList(q.used), q.quota.metadata.resourceVersion ?? '');
      if (!ok) {
        for (const d of done)
          await this.access.refund(d.quota.metadata.namespace ?? '', d.quota.metadata.name ?? '', d.delta);
        return q.quota.metadata.name ?? '';
      }
      done.push(q);
    }
    return 'ok';
  }

  /**
   * Checks one request against every quota, in upstream's order: each applicable quota's
   * constraints and status, then the limited resources and scopes, then the hard limits. Charges
   * the working copies when it fits.
   */
  private evaluate(a: AdmissionAttributes, quotas: WorkingQuota[]): StatusError | undefined {
    const r: GroupResource = { group: a.resource.group, resource: a.resource.resource };
    const obj = a.object!;
    const usage = this.evaluator.usage(r, obj);
    // An update is charged what it adds: a service turned LoadBalancer, a claim grown.
    const charge =
      a.operation === 'UPDATE' && a.oldObject ? growth(usage, this.evaluator.usage(r, a.oldObject)) : usage;
    const applicable: { q: WorkingQuota; restricted: string[] }[] = [];
    for (const q of quotas) {
      const restricted = restrictedOf(this.evaluator, q, r);
      if (restricted.length === 0 || !this.evaluator.matchesScopes(q.scopes, r, obj)) continue;
      const refusal = this.precheck(a, r, q, restricted);
      if (refusal) return refusal;
      applicable.push({ q, restricted });
    }
    const refusal = this.limitedRefusal(a, r, usage, quotas, applicable);
    if (refusal) return refusal;
    for (const { q, restricted } of applicable) {
      const exceeded = this.exceeded(a, q, restricted, charge);
      if (exceeded) return exceeded;
    }
    if (a.dryRun) return undefined;
    for (const { q, restricted } of applicable) {
      for (const name of restricted) {
        const amount = charge.get(name);
        if (!amount || amount.nano === 0n) continue;
        addUsage(q.used, name, amount);
        addUsage(q.delta, name, amount);
      }
    }
    return undefined;
  }

  /** What the object may not do without a quota: consume limited resources, match limited scopes. */
  private limitedRefusal(
    a: AdmissionAttributes,
    r: GroupResource,
    usage: Usage,
    quotas: WorkingQuota[],
    applicable: { restricted: string[] }[],
  ): StatusError | undefined {
    if (this.limited.length === 0) return undefined;
    const covered = new Set(applicable.flatMap((x) => x.restricted));
    const uncovered = this.limitedNames(r, usage).filter((n) => !covered.has(n));
    if (uncovered.length) return forbidden(a, `insufficient quota to consume: ${uncovered.join(',')}`);
    const limitedScopes = this.limited.flatMap((l) =>
      l.apiGroup === r.group && l.resource === r.resource
        ? this.evaluator.matchingScopes(l.matchScopes, r, a.object!)
        : [],
    );
    if (limitedScopes.length === 0) return undefined;
    // Upstream looks at every quota's scopes here, whether or not the quota applies to the object.
    const quotaScopesMatched = quotas.flatMap((q) => this.evaluator.matchingScopes(q.scopes, r, a.object!));
    const missing = this.evaluator.uncoveredQuotaScopes(limitedScopes, quotaScopesMatched);
    // Upstream returns this one as a plain error: a 500 without a reason, the message as is.
    if (missing.length) return errors.unknown(`insufficient quota to match these scopes: ${formatScopes(missing)}`);
    return undefined;
  }

  /** A quota's pod constraints and whether its status is known yet (upstream checks these first). */
  private precheck(
    a: AdmissionAttributes,
    r: GroupResource,
    q: WorkingQuota,
    restricted: string[],
  ): StatusError | undefined {
    const name = q.quota.metadata.name ?? '';
    const missing = this.evaluator.constraints(restricted, r, a.object!);
    if (missing) return forbidden(a, `failed quota: ${name}: ${missing}`);
    // Limits the controller has not confirmed yet are not enforceable: refuse rather than guess.
    const unknown = restricted.filter((n) => !q.statusHard.has(n) || !q.used.has(n));
    if (unknown.length)
      return forbidden(a, `status unknown for quota: ${name}, resources: ${unknown.sort().join(',')}`);
    return undefined;
  }

  private exceeded(
    a: AdmissionAttributes,
    q: WorkingQuota,
    restricted: string[],
    usage: Usage,
  ): StatusError | undefined {
    const statusHard = q.statusHard;
    const exceeded = restricted.filter((n) => {
      const wanted = usage.get(n)?.nano ?? 0n;
      return wanted > 0n && (q.used.get(n)?.nano ?? 0n) + wanted > statusHard.get(n)!.nano;
    });
    if (exceeded.length === 0) return undefined;
    return forbidden(
      a,
      `exceeded quota: ${q.quota.metadata.name ?? ''}, requested: ${prettyPrint(usage, exceeded)}, used: ${prettyPrint(q.used, exceeded)}, limited: ${prettyPrint(statusHard, exceeded)}`,
    );
  }

  /** Upstream's limitedResources: usage names that must be covered by some quota to be consumed at all. */
  private limitedNames(r: GroupResource, usage: Usage): string[] {
    const names = new Set<string>();
    for (const l of this.limited) {
      if (l.apiGroup !== r.group || l.resource !== r.resource) continue;
      for (const [name, q] of usage) {
        if (q.nano > 0n && l.matchContains.some((m) => name.includes(m))) names.add(name);
      }
    }
    return [...names].sort();
  }
}

function objectAt(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Upstream's SubtractWithNonNegativeResult: what `now` uses beyond `before`, never below zero. */
function growth(now: Usage, before: Usage): Usage {
  const out: Usage = new Map();
  for (const [name, q] of now) {
    const more = q.nano - (before.get(name)?.nano ?? 0n);
    out.set(name, { nano: more > 0n ? more : 0n, format: q.format });
  }
  return out;
}
