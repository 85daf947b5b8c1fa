/** Helpers the in-tree plugins share. */
import { MAX_NODE_SCORE } from 'skiff/sdk/scheduler';

type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
export const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

/**
 * Upstream's helper.DefaultNormalizeScore: scale to 0..MAX_NODE_SCORE by the highest score
 * (integer division), reversed when a high raw score is bad.
 */
export function defaultNormalizeScore(scores: Float64Array, reverse: boolean, max = MAX_NODE_SCORE): void {
  let highest = 0;
  for (const s of scores) if (s > highest) highest = s;
  if (highest === 0) {
    if (reverse) scores.fill(max);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.trunc((max * scores[i]!) / highest);
    scores[i] = reverse ? max - s : s;
  }
}
