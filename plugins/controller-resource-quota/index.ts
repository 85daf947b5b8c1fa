/**
 * controller-resource-quota: upstream's resource quota controller. Recounts what every quota's
 * namespace really uses and writes status.hard and status.used, when objects change and on a
 * resync period. Admission charges creates at once; this controller gives back what deletes free.
 * See README.md for how a recount can never undo a charge that is still on its way to storage.
 */

import {
  type ChangeType,
  CORE_V1,
  type ControllerContext,
  definePlugin,
  delay,
  Informer,
  isStatusError,
  type KubeObject,
  type ResourceRef,
  WorkQueue,
} from 'skiff/sdk';
import { QUOTA_USAGE, type QuotaEvaluator, type Usage, usageFromList, usageToList } from 'skiff/sdk/quota';
import { z } from 'zod';

const QUOTAS = CORE_V1('resourcequotas');
/** Kinds whose changes can change a quota's usage at once (others are caught by the resync). */
const WATCHED = ['pods', 'services', 'replicationcontrollers', 'secrets', 'configmaps', 'persistentvolumeclaims'];

const configSchema = z
  .object({
    /** Upstream's --resource-quota-sync-period (5m). */
    resyncPeriodSeconds: z.number().positive().default(300),
    /** How long a lower count must hold before it is written (see README.md). */
    settleSeconds: z.number().min(0).default(1),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

export default definePlugin<Config>({
  name: 'controller-resource-quota',
  description: "Recomputes ResourceQuota status.used from the namespace's objects (upstream resourcequota controller).",
  // Counts with the same evaluator admission-resource-quota charges with.
  dependencies: ['quota-evaluator'],
  config: configSchema,
  setup(ctx) {
    const evaluator = ctx.use(QUOTA_USAGE);
    ctx.provide.controller({
      name: 'resourcequota',
      create: (c) => ({ run: (signal) => new QuotaController(c, ctx.config, evaluator).run(signal) }),
    });
  },
});

class QuotaController {
  private readonly quotas: Informer;
  private readonly queue = new WorkQueue();

  constructor(
    private readonly c: ControllerContext,
    private readonly config: Config,
    private readonly evaluator: QuotaEvaluator,
  ) {
    this.quotas = new Informer(c.client, QUOTAS, c.logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    const namespacesWithQuota = () => new Set([...this.quotas.items.values()].map((q) => q.metadata.namespace ?? ''));
    const watchers = WATCHED.map((resource) =>
      new Informer(this.c.client, CORE_V1(resource), this.c.logger).run(signal, (type, obj) => {
        const ns = obj.metadata.namespace ?? '';
        if (this.frees(resource, type, obj) && namespacesWithQuota().has(ns)) this.queue.add(ns);
      }),
    );
    const resync = setInterval(() => {
      for (const ns of namespacesWithQuota()) this.queue.add(ns);
    }, this.config.resyncPeriodSeconds * 1000);
    try {
      await Promise.all([
        this.quotas.run(signal, (type, quota) => {
          if (type !== 'DELETED' && needsSync(quota)) this.queue.add(quota.metadata.namespace ?? '');
        }),
        ...watchers,
        this.queue.run(signal, (ns) => this.syncNamespace(ns, signal), this.c.logger),
      ]);
    } finally {
      clearInterval(resync);
    }
  }

  private async syncNamespace(namespace: string, signal: AbortSignal): Promise<void> {
    const { items } = await this.c.client.list(QUOTAS, namespace);
    for (const quota of items) await this.syncQuota(quota, signal);
  }

  private async syncQuota(quota: KubeObject, signal: AbortSignal): Promise<void> {
    const hard = fields(fields(quota.spec).hard);
    const old = usageFromList(fields(quota.status).used);
    let used = await this.recount(quota, hard);
    const statusHard = JSON.stringify(fields(quota.status).hard ?? {});
    const lower = [...used].some(([name, q]) => q.nano < (old.get(name)?.nano ?? 0n));
    if (!lower && sameUsage(used, old) && statusHard === JSON.stringify(sorted(hard))) return;
    if (lower) {
      // A charge made just before `quota` was read may belong to an object not yet stored: count
      // again once such writes have landed. Writing against the resourceVersion read *before* the
      // wait means any charge made meanwhile makes the write fail, and the namespace is redone.
      await delay(this.config.settleSeconds * 1000, signal);
      used = await this.recount(quota, hard);
    }
    try {
      await this.c.client.update(
        QUOTAS,
        quota.metadata.namespace ?? '',
        { ...quota, status: { hard: sorted(hard), used: usageToList(used) } },
        { subresource: 'status' },
      );
    } catch (err) {
      if (!isStatusError(err) || err.code !== 409) throw err;
      this.queue.add(quota.metadata.namespace ?? '');
    }
  }

  /** What the namespace uses of each resource the quota limits, counted from the server. */
  private async recount(quota: KubeObject, hard: Record<string, unknown>): Promise<Usage> {
    const namespace = quota.metadata.namespace ?? '';
    const used: Usage = new Map(Object.keys(hard).map((n) => [n, { nano: 0n, format: 'DecimalSI' as const }]));
    for (const ref of await this.kindsFor(hard)) {
      const r = { group: ref.group, resource: ref.resource };
      const restricted = this.evaluator.matchingResources(hard, r);
      const { items } = await this.c.client.list(ref, namespace);
      for (const obj of items) {
        if (!this.evaluator.matches(quota, r, obj)) continue;
        for (const [name, amount] of this.evaluator.usage(r, obj)) {
          if (!restricted.includes(name)) continue;
          const current = used.get(name)!;
          used.set(name, {
            nano: current.nano + amount.nano,
            format: current.nano === 0n ? amount.format : current.format,
          });
        }
      }
    }
    return used;
  }

  /** The kinds whose objects can use something in `hard`. */
  private async kindsFor(hard: Record<string, unknown>): Promise<ResourceRef[]> {
    const all = await this.c.namespacedResources();
    return all.filter(
      (ref) => this.evaluator.matchingResources(hard, { group: ref.group, resource: ref.resource }).length > 0,
    );
  }

  /**
   * Upstream's replenishment: admission already charged every create and every growth, so only what
   * can give usage back needs a recount: a delete, a pod that finished (it uses nothing any more), a
   * service or claim changed (a LoadBalancer turned ClusterIP); the resync catches everything else.
   */
  private frees(resource: string, type: ChangeType, obj: KubeObject): boolean {
    if (type === 'DELETED') return true;
    if (type !== 'MODIFIED') return false;
    if (resource === 'pods') return this.evaluator.usage({ group: '', resource }, obj).size === 0;
    return resource === 'services' || resource === 'persistentvolumeclaims';
  }
}

function needsSync(quota: KubeObject): boolean {
  const hard = fields(fields(quota.spec).hard);
  const status = fields(quota.status);
  return JSON.stringify(sorted(hard)) !== JSON.stringify(status.hard ?? {}) || status.used === undefined;
}

function sameUsage(a: Usage, b: Usage): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k)?.nano === v.nano);
}

function sorted(list: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(list)
      .sort()
      .map((k) => [k, list[k]]),
  );
}

function fields(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
