/** GET one pod among 10k, and LIST 1k (one namespace) and 10k (cluster-wide), each against bare koa. */
import { withKoa } from './bare-koa.js';
import { createPods, percentile, startBenchServer } from './fixtures.js';
import { type LoadResult, load } from './load.js';
import { fmt, type Row } from './report.js';

function medianRun(runs: LoadResult[]): LoadResult {
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return {
    requestsPerSecond: mid(runs.map((r) => r.requestsPerSecond)),
    p99Ms: mid(runs.map((r) => r.p99Ms)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  };
}

async function fetchBuffer(url: string): Promise<Buffer> {
  return Buffer.from(await (await fetch(url)).arrayBuffer());
}

async function timeSequential(url: string, times: number): Promise<{ median: number; p99: number }> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await fetchBuffer(url);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: percentile(ms, 50), p99: percentile(ms, 99) };
}

export async function benchRead(seconds: number): Promise<Row[]> {
  const s = await startBenchServer();
  try {
    await createPods(s, 'bench', 9000);
    await createPods(s, 'small', 1000);
    const getUrl = `${s.url}/api/v1/namespaces/bench/pods/pod-4500`;
    await load({ url: getUrl, connections: 50, seconds: 2 }); // warm-up: JIT, caches
    const podBytes = await fetchBuffer(getUrl);
    // Alternate Skiff and baseline in short rounds and take medians: on 2 shared cores a single
    // long run of each drifts with whatever else the machine does.
    const rounds = 3;
    const skiffRuns: LoadResult[] = [];
    const baseRuns: LoadResult[] = [];
    for (let i = 0; i < rounds; i++) {
      skiffRuns.push(await load({ url: getUrl, connections: 50, seconds: Math.max(2, Math.round(seconds / rounds)) }));
      baseRuns.push(
        await withKoa(podBytes, (url) =>
          load({ url, connections: 50, seconds: Math.max(2, Math.round(seconds / rounds)) }),
        ),
      );
    }
    const get = medianRun(skiffRuns);
    const base = medianRun(baseRuns);
    const rows: Row[] = [
      {
        scenario: 'GET 1 pod of 10k, 50 conns (median of 3 alternating rounds)',
        skiff: `${fmt.rps(get.requestsPerSecond)}, p99 ${fmt.ms(get.p99Ms)}`,
        baseline: `${fmt.rps(base.requestsPerSecond)} (bare koa, prebuilt buffer)`,
        ratio: get.requestsPerSecond / base.requestsPerSecond,
        target: 'ratio >= 0.5, p99 <= 10 ms',
        met: get.requestsPerSecond / base.requestsPerSecond >= 0.5 && get.p99Ms <= 10 && get.errors + get.non2xx === 0,
      },
    ];
    for (const [name, path, times] of [
      ['LIST 1k pods in a namespace', '/api/v1/namespaces/small/pods', 20],
      ['LIST 10k pods cluster-wide', '/api/v1/pods', 10],
    ] as const) {
      await timeSequential(s.url + path, 2);
      const skiff = await timeSequential(s.url + path, times);
      const baseline = await withKoa(await fetchBuffer(s.url + path), (url) => timeSequential(url, times));
      const limit = path === '/api/v1/pods' ? 300 : undefined;
      rows.push({
        scenario: name,
        skiff: `median ${fmt.ms(skiff.median)}, p99 ${fmt.ms(skiff.p99)}`,
        baseline: `median ${fmt.ms(baseline.median)} (bare koa, same bytes)`,
        ratio: baseline.median / skiff.median,
        target: limit ? `<= ${limit} ms` : 'report',
        met: limit ? skiff.p99 <= limit : true,
      });
    }
    return rows;
  } finally {
    await s.close();
  }
}
