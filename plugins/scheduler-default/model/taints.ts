/** Taints and tolerations with upstream's matching (v1.Toleration.ToleratesTaint). */

export interface Taint {
  key: string;
  value: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown) => (typeof v === 'string' ? v : '');

export function taintsOf(nodeSpec: unknown): Taint[] {
  const taints = obj(nodeSpec).taints;
  if (!Array.isArray(taints) || taints.length === 0) return [];
  return taints.map((t) => {
    const o = obj(t);
    return { key: str(o.key), value: str(o.value), effect: str(o.effect) };
  });
}

export function tolerationsOf(podSpec: unknown): Toleration[] {
  const tolerations = obj(podSpec).tolerations;
  return Array.isArray(tolerations) ? (tolerations.map(obj) as Toleration[]) : [];
}

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === taint.value;
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function toleratesTaint(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (tolerates(t, taint)) return true;
  return false;
}

/** Upstream's DoNotScheduleTaintsFilterFunc: the effects a pod must tolerate to land on a node. */
export const isDoNotSchedule = (t: Taint) => t.effect === 'NoSchedule' || t.effect === 'NoExecute';

/** The first taint (of those `filter` keeps) the pod does not tolerate. */
export function firstUntolerated(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
  filter: (t: Taint) => boolean,
): Taint | undefined {
  for (const taint of taints) {
    if (filter(taint) && !toleratesTaint(tolerations, taint)) return taint;
  }
  return undefined;
}
