/**
 * admission-resource-quota: upstream's ResourceQuota admission plugin. Every create in a namespace
 * with quotas is checked against them and charged to their status.used; see charge.ts for why
 * usage can never pass a hard limit, and README.md for the messages.
 */

import { type AdmissionAttributes, definePlugin, isStatusError, type KubeObject, type UserInfo } from 'skiff/sdk';
import { QUOTA_USAGE, type Usage, usageFromList, usageToList } from 'skiff/sdk/quota';
import { z } from 'zod';
import { type QuotaAccess, QuotaCharger } from './charge.js';

/** A ScopedResourceSelectorRequirement, as in a quota's spec.scopeSelector. */
const scopeSelectorSchema = z
  .object({
    scopeName: z.enum([
      'Terminating',
      'NotTerminating',
      'BestEffort',
      'NotBestEffort',
      'PriorityClass',
      'CrossNamespacePodAffinity',
    ]),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(z.string()).default([]),
  })
  .strict()
  .refine((s) => (s.operator === 'In' || s.operator === 'NotIn') === s.values.length > 0, {
    message: 'values must be given for In and NotIn, and only for them',
  });

const limitedResourceSchema = z
  .object({
    apiGroup: z.string().default(''),
    resource: z.string().min(1),
    matchContains: z.array(z.string()).default([]),
    matchScopes: z.array(scopeSelectorSchema).default([]),
  })
  .strict();

/** Upstream's ResourceQuotaConfiguration (apiserver.config.k8s.io/v1), as the plugin's config. */
const configSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.literal('ResourceQuotaConfiguration').optional(),
    limitedResources: z.array(limitedResourceSchema).default([]),
  })
  .strict();

type Config = z.infer<typeof configSchema>;

const ADMISSION_USER: UserInfo = { name: 'system:apiserver', groups: ['system:masters'] };

export default definePlugin<Config>({
  name: 'admission-resource-quota',
  description: "Checks creates against the namespace's ResourceQuotas and charges them (upstream's ResourceQuota).",
  admissionName: 'ResourceQuota',
  admissionOrder: 40,
  // What objects cost comes from the quota evaluator, which the quota controller uses too.
  dependencies: ['quota-evaluator'],
  config: configSchema,
  setup(ctx) {
    const objects = ctx.api.cached;
    const quotaStore = () => ctx.api.store('', 'v1', 'resourcequotas');
    // Upstream's quotaAccessor: the cache's quotas (a live lookup when it has none), each replaced
    // by the one this plugin wrote last when that is newer, since the cache may not have it yet.
    const written = new Map<string, KubeObject>();
    const keyOf = (q: KubeObject) => `${q.metadata.namespace ?? ''}/${q.metadata.name ?? ''}`;
    const newest = (q: KubeObject) => {
      const ours = written.get(keyOf(q));
      if (!ours) return q;
      if (revisionOf(ours) > revisionOf(q)) return ours;
      written.delete(keyOf(q));
      return q;
    };
    const access: QuotaAccess = {
      async list(namespace, fresh) {
        const quotas = fresh
          ? await objects.list('', 'v1', 'resourcequotas', namespace)
          : await objects.listOrLookup('', 'v1', 'resourcequotas', namespace);
        return quotas.map(newest);
      },
      async writeUsed(quota, used, resourceVersion) {
        try {
          const stored = await quotaStore().guaranteedUpdate(
            quota.metadata.namespace ?? '',
            quota.metadata.name ?? '',
            (current) => ({ ...current, status: { ...objectAt(current.status), used } }),
            { expectedResourceVersion: resourceVersion, subresource: 'status', user: ADMISSION_USER },
          );
          written.set(keyOf(stored), stored);
          return true;
        } catch (err) {
          if (isStatusError(err) && (err.code === 409 || err.code === 404)) return false;
          throw err;
        }
      },
      async refund(namespace, name, delta) {
        await quotaStore().guaranteedUpdate(namespace, name, (current) => withRefund(current, delta), {
          subresource: 'status',
          user: ADMISSION_USER,
        });
      },
    };
    const charger = new QuotaCharger(access, ctx.use(QUOTA_USAGE), ctx.config.limitedResources);

    // Every create queues, as upstream's evaluator: a batch reads the namespace's quotas once, where
    // a look per request to skip namespaces without quotas cost more than the queue (see charge.ts).
    function validate(a: AdmissionAttributes): Promise<void> | undefined {
      if (!a.namespace || a.subresource || !a.object) return undefined;
      if (a.operation === 'UPDATE' && !chargedOnUpdate(a)) return undefined;
      return charger.charge(a);
    }

    // Validating, and last in upstream's order: only objects every other plugin accepted are charged.
    ctx.provide.admission({ name: 'ResourceQuota', handles: (op) => op === 'CREATE' || op === 'UPDATE', validate });
  },
});

/**
 * Upstream's evaluators that handle UPDATE: services (a type change adds node ports or load
 * balancers) and persistent volume claims (a resize adds storage). Other kinds' usage cannot grow
 * by an update (pod resources are immutable here), so their updates are not queued at all.
 */
function chargedOnUpdate(a: AdmissionAttributes): boolean {
  return (
    a.resource.group === '' && (a.resource.resource === 'services' || a.resource.resource === 'persistentvolumeclaims')
  );
}

function withRefund(quota: KubeObject, delta: Usage): KubeObject {
  const used = usageFromList(objectAt(quota.status).used);
  for (const [name, amount] of delta) {
    const current = used.get(name);
    if (!current) continue;
    const left = current.nano - amount.nano;
    used.set(name, { nano: left > 0n ? left : 0n, format: current.format });
  }
  return { ...quota, status: { ...objectAt(quota.status), used: usageToList(used) } };
}

function revisionOf(obj: KubeObject): number {
  return Number(obj.metadata.resourceVersion ?? 0);
}

function objectAt(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
