/**
 * CREATE pods through the full default admission chain (NamespaceLifecycle, LimitRanger,
 * ServiceAccount, SecurityContextDeny, ResourceQuota with a quota present, and their controllers)
 * against CREATE with no admission at all, in the same run. Each round is a fresh server, warmed
 * up (JIT, caches) before it is measured, like the read benchmarks; the rounds run in the order
 * plain, chain, chain, plain, plain, chain, so a machine that slows down or speeds up during the
 * run weighs on both sides alike.
 */
import { CORE_V1 } from '../../core/client/types.js';
import { type BenchServer, pod, startBenchServer } from './fixtures.js';
import { load } from './load.js';
import { fmt, type Row } from './report.js';

const CHAIN = {
  'admission-namespace-lifecycle': {},
  'admission-limit-ranger': {},
  'admission-service-account': {},
  'admission-security-context-deny': {},
  'admission-resource-quota': {},
  'controller-namespace': {},
  'controller-service-account': {},
  'controller-resource-quota': {},
};

const PAIRS = 3;
const WARM_UP_SECONDS = 2;

async function prepare(s: BenchServer, withPolicy: boolean): Promise<void> {
  const client = s.server.client();
  await client.create(CORE_V1('namespaces'), '', { metadata: { name: 'bench' } });
  if (!withPolicy) return;
  await client.create(CORE_V1('serviceaccounts'), 'bench', { metadata: { name: 'default' } }).catch(() => undefined);
  await client.create(CORE_V1('limitranges'), 'bench', {
    metadata: { name: 'defaults' },
    spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, max: { cpu: '2' } }] },
  });
  const quota = await client.create(CORE_V1('resourcequotas'), 'bench', {
    metadata: { name: 'bench' },
    spec: { hard: { pods: '1000000', 'requests.cpu': '100000', 'requests.memory': '1000Ti' } },
  });
  // The controller fills status soon; admission refuses until it has.
  for (let i = 0; i < 100; i++) {
    const q = await client.get(CORE_V1('resourcequotas'), 'bench', quota.metadata.name!);
    if ((q.status as { used?: unknown } | undefined)?.used) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the quota controller never filled the quota status');
}

async function round(chain: boolean, seconds: number) {
  const s = await startBenchServer(chain ? CHAIN : {}, chain ? 'up' : 'apiserver');
  try {
    await prepare(s, chain);
    const body = pod('', 'bench');
    body.metadata = { generateName: 'p-', labels: body.metadata.labels };
    const request = { url: `${s.url}/api/v1/namespaces/bench/pods`, connections: 50, method: 'POST' };
    await load({ ...request, seconds: WARM_UP_SECONDS, body: JSON.stringify(body) });
    return await load({ ...request, seconds, body: JSON.stringify(body) });
  } finally {
    await s.close();
  }
}

export async function benchAdmission(seconds: number): Promise<Row[]> {
  const plain: number[] = [];
  const full: number[] = [];
  let failures = 0;
  let p99 = 0;
  for (let i = 0; i < PAIRS; i++) {
    for (const chain of i % 2 === 0 ? [false, true] : [true, false]) {
      const r = await round(chain, seconds / PAIRS);
      (chain ? full : plain).push(r.requestsPerSecond);
      failures += r.non2xx + r.errors;
      if (chain) p99 = Math.max(p99, r.p99Ms);
    }
  }
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  const ratio = mean(full) / mean(plain);
  return [
    {
      scenario: 'CREATE pods, full admission chain + quota, 50 conns',
      skiff: `${fmt.rps(mean(full))}, p99 ${fmt.ms(p99)}${failures ? `, ${failures} failed` : ''}`,
      baseline: `${fmt.rps(mean(plain))} (no admission plugins)`,
      ratio,
      target: '>= 0.7',
      met: ratio >= 0.7 && failures === 0,
    },
  ];
}
