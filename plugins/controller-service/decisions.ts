/**
 * What upstream's service controller (k8s.io/cloud-provider controllers/service) decides from a
 * Service or a Node alone: whether it wants a load balancer, whether one must be cleaned up, which
 * changes call for the balancer to be ensured again (with the Events upstream records for them),
 * and which nodes a balancer may send traffic to.
 */
import type { Service } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from 'skiff/sdk';

export const LB_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
const EXCLUDE_BALANCERS = 'node.kubernetes.io/exclude-from-external-load-balancers';
const TO_BE_DELETED = 'ToBeDeletedByClusterAutoscaler';

type Spec = NonNullable<Service['spec']>;
const specOf = (svc: KubeObject): Spec => (svc.spec ?? {}) as Spec;
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** A LoadBalancer service without a loadBalancerClass (a class means another controller's balancer). */
export function wantsLoadBalancer(svc: KubeObject): boolean {
  const spec = specOf(svc);
  return spec.type === 'LoadBalancer' && (spec.loadBalancerClass === undefined || spec.loadBalancerClass === null);
}

export const hasFinalizer = (svc: KubeObject) => (svc.metadata.finalizers ?? []).includes(LB_FINALIZER);

/** Upstream's needsCleanup: the finalizer is there and the service is being deleted or no longer a LoadBalancer. */
export function needsCleanup(svc: KubeObject): boolean {
  return hasFinalizer(svc) && (Boolean(svc.metadata.deletionTimestamp) || specOf(svc).type !== 'LoadBalancer');
}

/** An Event upstream records when it notices a change: [reason, message]. */
export type ChangeEvent = [string, string];

const portsForLB = (svc: KubeObject) =>
  (specOf(svc).ports ?? []).map((p) => [
    p.name ?? '',
    p.protocol ?? 'TCP',
    p.port,
    p.nodePort ?? 0,
    p.targetPort ?? null,
  ]);

/**
 * Upstream's needsUpdate: whether the balancer must be ensured again after this change, and the
 * Events that explain it. Undefined: nothing the balancer depends on changed.
 */
export function changesForLB(old: KubeObject, cur: KubeObject): ChangeEvent[] | undefined {
  if (!wantsLoadBalancer(old) && !wantsLoadBalancer(cur)) return undefined;
  const o = specOf(old);
  const n = specOf(cur);
  if (wantsLoadBalancer(old) !== wantsLoadBalancer(cur)) return [['Type', `${o.type} -> ${n.type}`]];
  const checks: [boolean, ChangeEvent | undefined][] = [
    [
      !same(o.loadBalancerSourceRanges, n.loadBalancerSourceRanges),
      ['LoadBalancerSourceRanges', `${o.loadBalancerSourceRanges ?? []} -> ${n.loadBalancerSourceRanges ?? []}`],
    ],
    [!same(portsForLB(old), portsForLB(cur)) || o.sessionAffinity !== n.sessionAffinity, undefined],
    [!same(o.sessionAffinityConfig, n.sessionAffinityConfig), undefined],
    [
      (o.loadBalancerIP ?? '') !== (n.loadBalancerIP ?? ''),
      ['LoadbalancerIP', `${o.loadBalancerIP ?? ''} -> ${n.loadBalancerIP ?? ''}`],
    ],
    [
      !same(o.externalIPs, n.externalIPs),
      ['ExternalIP', `Count: ${o.externalIPs?.length ?? 0} -> ${n.externalIPs?.length ?? 0}`],
    ],
    [!same(old.metadata.annotations, cur.metadata.annotations), undefined],
    [old.metadata.uid !== cur.metadata.uid, ['UID', `${old.metadata.uid} -> ${cur.metadata.uid}`]],
    [
      o.externalTrafficPolicy !== n.externalTrafficPolicy,
      ['ExternalTrafficPolicy', `${o.externalTrafficPolicy} -> ${n.externalTrafficPolicy}`],
    ],
    [
      o.healthCheckNodePort !== n.healthCheckNodePort,
      ['HealthCheckNodePort', `${o.healthCheckNodePort} -> ${n.healthCheckNodePort}`],
    ],
  ];
  const changed = checks.find(([differs]) => differs);
  if (!changed) return undefined;
  return changed[1] ? [changed[1]] : [];
}

type Obj = Record<string, unknown>;

/**
 * Upstream's getNodeConditionPredicate: nodes a balancer may use: not labelled
 * node.kubernetes.io/exclude-from-external-load-balancers, not about to be removed by the cluster
 * autoscaler, and Ready.
 */
export function balancerMayUse(node: KubeObject): boolean {
  if (node.metadata.labels?.[EXCLUDE_BALANCERS] !== undefined) return false;
  const taints = ((node.spec as Obj | undefined)?.taints ?? []) as { key?: string }[];
  if (taints.some((t) => t.key === TO_BE_DELETED)) return false;
  const conditions = ((node.status as Obj | undefined)?.conditions ?? []) as { type?: string; status?: string }[];
  if (conditions.length === 0) return false;
  return !conditions.some((c) => c.type === 'Ready' && c.status !== 'True');
}

/** Upstream's shouldSyncNode: a change that may move the node in or out of balancers. */
export function nodeChangeMatters(old: KubeObject, cur: KubeObject): boolean {
  const unschedulable = (n: KubeObject) => (n.spec as Obj | undefined)?.unschedulable === true;
  const ready = (n: KubeObject) =>
    (((n.status as Obj | undefined)?.conditions ?? []) as { type?: string; status?: string }[]).find(
      (c) => c.type === 'Ready',
    )?.status;
  return (
    unschedulable(old) !== unschedulable(cur) ||
    !same(old.metadata.labels, cur.metadata.labels) ||
    ready(old) !== ready(cur)
  );
}
