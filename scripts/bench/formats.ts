/**
 * The wire formats kubectl and client-go ask for: GET one pod as JSON, as a Table (kubectl get) and
 * as protobuf, and LIST 10k pods as JSON and as a Table. Each is reported as a ratio to plain JSON
 * measured in the same run, in alternating rounds.
 */
import { createPods, percentile, startBenchServer } from './fixtures.js';
import { type LoadResult, load } from './load.js';
import { fmt, type Row } from './report.js';

// Served by the wire-protobuf plugin, which this bench's server enables.
const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
const FORMATS: [string, Record<string, string>][] = [
  ['JSON', { Accept: 'application/json' }],
  ['Table', { Accept: TABLE_ACCEPT }],
  ['protobuf', { Accept: PROTOBUF_MEDIA_TYPE }],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeSequential(url: string, headers: Record<string, string>, times: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    ms.push(performance.now() - t);
  }
  return ms;
}

export async function benchFormats(seconds: number): Promise<Row[]> {
  const s = await startBenchServer({ 'wire-protobuf': {} });
  try {
    await createPods(s, 'bench', 10000);
    const getUrl = `${s.url}/api/v1/namespaces/bench/pods/pod-4500`;
    for (const [, headers] of FORMATS) await load({ url: getUrl, connections: 50, seconds: 1, headers }); // warm-up
    const runs = new Map<string, LoadResult[]>(FORMATS.map(([name]) => [name, []]));
    const roundSeconds = Math.max(2, Math.round(seconds / 3));
    for (let round = 0; round < 3; round++) {
      for (const [name, headers] of FORMATS) {
        runs.get(name)!.push(await load({ url: getUrl, connections: 50, seconds: roundSeconds, headers }));
      }
    }
    const rps = (name: string) => median(runs.get(name)!.map((r) => r.requestsPerSecond));
    const p99 = (name: string) => median(runs.get(name)!.map((r) => r.p99Ms));
    const failures = (name: string) => runs.get(name)!.reduce((a, r) => a + r.errors + r.non2xx, 0);
    const json = rps('JSON');
    const rows: Row[] = FORMATS.map(([name]) => ({
      scenario: `GET 1 pod as ${name}, 50 conns (median of 3 alternating rounds)`,
      skiff: `${fmt.rps(rps(name))}, p99 ${fmt.ms(p99(name))}`,
      baseline: name === 'JSON' ? '(the baseline of this group)' : `${fmt.rps(json)} (GET as JSON, same run)`,
      ratio: rps(name) / json,
      target: name === 'JSON' ? 'report' : 'ratio >= 0.8',
      met: failures(name) === 0 && (name === 'JSON' || rps(name) / json >= 0.8),
    }));
    const listUrl = `${s.url}/api/v1/pods`;
    const listJson: number[] = [];
    const listTable: number[] = [];
    await timeSequential(listUrl, { Accept: TABLE_ACCEPT }, 2);
    for (let round = 0; round < 5; round++) {
      listJson.push(...(await timeSequential(listUrl, { Accept: 'application/json' }, 2)));
      listTable.push(...(await timeSequential(listUrl, { Accept: TABLE_ACCEPT }, 2)));
    }
    listJson.sort((a, b) => a - b);
    listTable.sort((a, b) => a - b);
    rows.push({
      scenario: 'LIST 10k pods as a Table (kubectl get pods -A)',
      skiff: `median ${fmt.ms(percentile(listTable, 50))}, p99 ${fmt.ms(percentile(listTable, 99))}`,
      baseline: `median ${fmt.ms(percentile(listJson, 50))} (LIST as JSON, same run)`,
      ratio: percentile(listJson, 50) / percentile(listTable, 50),
      target: 'ratio >= 0.8',
      met: percentile(listJson, 50) / percentile(listTable, 50) >= 0.8,
    });
    return rows;
  } finally {
    await s.close();
  }
}
