/**
 * What the node controllers read from a Node: its conditions, its taints and its zone (upstream's
 * controller/util/node, taints and component-helpers/node/topology), and how taints are written:
 * with the node's resourceVersion, read again and retried on a conflict.
 */
import type { NodeCondition, Taint } from 'kubernetes-types/core/v1.js';
import { type ApiClient, CORE_V1, isStatusError, type KubeObject } from 'skiff/sdk';
import { nowTimestamp } from 'skiff/sdk/api';

export const NODES = CORE_V1('nodes');
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
export const NOT_READY_NO_EXECUTE: Taint = { key: TAINT_NOT_READY, effect: 'NoExecute' };

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

export function conditionsOf(status: unknown): NodeCondition[] {
  const conditions = obj(status).conditions;
  return Array.isArray(conditions) ? (conditions as NodeCondition[]) : [];
}

export function conditionOf(status: unknown, type: string): NodeCondition | undefined {
  return conditionsOf(status).find((c) => c?.type === type);
}

export const readyOf = (node: KubeObject) => conditionOf(node.status, 'Ready');

export function taintsOf(node: KubeObject): Taint[] {
  const taints = obj(node.spec).taints;
  return Array.isArray(taints) ? (taints as Taint[]) : [];
}

/** Upstream's Taint.MatchTaint: the same key and effect. */
export const matchTaint = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;

export const taintExists = (taints: readonly Taint[], taint: Taint) => taints.some((t) => matchTaint(t, taint));

/** Upstream's GetZoneKey: region and zone (GA labels, else the beta ones); "" for neither. */
export function zoneKey(node: KubeObject): string {
  const labels = node.metadata.labels ?? {};
  const region = labels['topology.kubernetes.io/region'] ?? labels['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = labels['topology.kubernetes.io/zone'] ?? labels['failure-domain.beta.kubernetes.io/zone'] ?? '';
  return region || zone ? `${region}:\u0000:${zone}` : '';
}

const conflict = (err: unknown) => isStatusError(err) && err.code === 409;
const notFound = (err: unknown) => isStatusError(err) && err.code === 404;

/**
 * Rewrites the node's taints: `change` gets the current list and returns the new one, or undefined
 * when nothing is to change. Written with the node's resourceVersion; on a conflict the node is
 * read again (upstream's UpdateTaintBackoff: 5 attempts). A node that is gone needs nothing.
 */
export async function updateTaints(
  client: ApiClient,
  node: KubeObject,
  change: (taints: Taint[]) => Taint[] | undefined,
): Promise<void> {
  let current = node;
  for (let attempt = 0; ; attempt++) {
    const taints = change(taintsOf(current));
    if (!taints) return;
    try {
      const spec: Obj = { ...obj(current.spec), taints };
      if (!taints.length) delete spec.taints;
      await client.update(NODES, '', { ...current, spec });
      return;
    } catch (err) {
      if (notFound(err)) return;
      if (!conflict(err) || attempt >= 4) throw err;
      try {
        current = await client.get(NODES, '', node.metadata.name ?? '');
      } catch (e) {
        if (notFound(e)) return;
        throw e;
      }
    }
  }
}

/**
 * Upstream's SwapNodeControllerTaint: adds `add` (stamped with timeAdded) and removes `remove`,
 * in one write when anything changes.
 */
export function swapTaints(client: ApiClient, node: KubeObject, add: Taint[], remove: Taint[]): Promise<void> {
  return updateTaints(client, node, (taints) => {
    const kept = taints.filter((t) => !remove.some((r) => matchTaint(r, t)));
    const missing = add.filter((a) => !kept.some((t) => matchTaint(t, a)));
    if (kept.length === taints.length && missing.length === 0) return undefined;
    const timeAdded = nowTimestamp();
    return [...kept, ...missing.map((t) => ({ ...t, timeAdded }))];
  });
}
