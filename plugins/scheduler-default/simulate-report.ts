/** The text `skiff scheduler simulate` prints: per pod, its node and every node's verdict. */
import type { Explanation } from './component/algorithm.js';

export interface PodVerdict {
  pod: string;
  profile: string;
  /** The chosen node; undefined when none fits. */
  node?: string;
  /** Why it fits nowhere (upstream's FailedScheduling message), or why it was not queued. */
  message?: string;
  explain: Explanation;
}

const pad = (s: string, n: number) => s.padEnd(n);

function scoreLines(v: PodVerdict, width: number): string[] {
  const scores = v.explain.scores;
  if (!scores) return [];
  const order = scores.nodes.map((n, i) => ({ n, i })).sort((a, b) => scores.totals[b.i]! - scores.totals[a.i]!);
  return order.map(({ n, i }) => {
    const parts = scores.plugins.map((p) => {
      const raw = p.raw[i] === p.normalized[i] ? '' : ` (raw ${p.raw[i]})`;
      return `${p.plugin} ${p.normalized[i]}×${p.weight}${raw}`;
    });
    const mark = n === v.node ? '→' : ' ';
    return `  ${mark} ${pad(n, width)}  score ${scores.totals[i]}${parts.length ? ` = ${parts.join(' + ')}` : ''}`;
  });
}

export function renderText(verdicts: readonly PodVerdict[]): string {
  if (verdicts.length === 0) return 'no pending pods to schedule\n';
  const lines: string[] = [];
  for (const v of verdicts) {
    const nodes = [...v.explain.filtered.keys(), ...(v.explain.scores?.nodes ?? [])];
    const width = Math.max(4, ...nodes.map((n) => n.length));
    lines.push(`pod ${v.pod} (${v.profile}): ${v.node ? `→ ${v.node}` : `unschedulable: ${v.message}`}`);
    lines.push(...scoreLines(v, width));
    for (const [node, f] of v.explain.filtered) {
      lines.push(`  ✗ ${pad(node, width)}  filtered by ${f.plugin ?? 'PreFilter'}: ${f.reasons.join(', ')}`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
