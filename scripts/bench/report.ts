/** The one table `npm run bench` prints: each figure beside its same-run baseline and the ratio. */
export interface Row {
  scenario: string;
  skiff: string;
  baseline: string;
  /** skiff ÷ baseline for throughput; baseline ÷ skiff for latency (higher is better either way). */
  ratio?: number;
  target: string;
  met: boolean;
}

export function printTable(rows: Row[]): void {
  const head = ['scenario', 'Skiff', 'baseline', 'ratio', 'target', 'met?'];
  const cells = rows.map((r) => [
    r.scenario,
    r.skiff,
    r.baseline,
    r.ratio === undefined ? '-' : r.ratio.toFixed(2),
    r.target,
    r.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of cells) console.log(line(c));
}

export const fmt = {
  rps: (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`,
  ms: (n: number) => `${n < 10 ? n.toFixed(2) : Math.round(n)} ms`,
  mb: (n: number) => `${Math.round(n)} MB`,
};
