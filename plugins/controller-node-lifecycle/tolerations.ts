/**
 * Which taints a pod tolerates, and for how long (upstream's Toleration.ToleratesTaint,
 * GetMatchingTolerations and the taint manager's getMinTolerationTime).
 */
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';

/** Upstream's ToleratesTaint: effect and key match when set; Exists matches any value, Equal (or none) the same value. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (!t.operator || t.operator === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

/** Whether every taint is tolerated, and the toleration used for each. */
export function matchingTolerations(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
): [boolean, Toleration[]] {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = tolerations.find((x) => toleratesTaint(x, taint));
    if (!t) return [false, []];
    used.push(t);
  }
  return [true, used];
}

/** The shortest tolerationSeconds, in ms; -1 when every one tolerates forever; 0 for none or any ≤ 0. */
export function minTolerationMs(tolerations: readonly Toleration[]): number {
  if (tolerations.length === 0) return 0;
  let min = Number.POSITIVE_INFINITY;
  for (const t of tolerations) {
    if (typeof t.tolerationSeconds !== 'number') continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Number.POSITIVE_INFINITY ? -1 : min * 1000;
}
