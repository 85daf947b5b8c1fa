/**
 * CREATE pods through the full default admission chain (NamespaceLifecycle, LimitRanger,
 * ServiceAccount, SecurityContextDeny, ResourceQuota with a quota present) against CREATE on the
 * same server with no admission plugins, in the same run. Both run `skiff up`'s role with the
 * namespace, service-account and quota controllers (the quota's status needs its controller) and
 * the same LimitRange, quota and service account in the namespace, so the ratio is the price of
 * admission alone. A third side, a bare API server without controllers, is reported as well: it
 * shows what the in-process controllers' watch of every pod costs on top.
 *
 * Every round is a server in a process of its own (admission-round.ts), warmed up (JIT, caches)
 * before it is measured: rounds sharing one process inherited each other's heap and JIT state,
 * which moved a side's figure by up to 40% depending on what ran before it. The order of the
 * sides rotates every round, so a machine that slows down or speeds up during the run weighs on
 * every side alike.
 */

import { spawn } from 'node:child_process';
import { CORE_V1 } from '../../core/client/types.js';
import { type BenchServer, pod, startBenchServer } from './fixtures.js';
import { type LoadResult, load } from './load.js';
import { fmt, type Row } from './report.js';

const ADMISSION = {
  'admission-namespace-lifecycle': {},
  'admission-limit-ranger': {},
  'admission-service-account': {},
  'admission-security-context-deny': {},
  'admission-resource-quota': {},
};
const CONTROLLERS = {
  'controller-namespace': {},
  'controller-service-account': {},
  'controller-resource-quota': {},
};

export type Side = 'chain' | 'noAdmission' | 'bare';
const SIDES: Side[] = ['noAdmission', 'chain', 'bare'];
/** Each round measures this long (or the whole --seconds if shorter); --seconds sets how many rounds a side gets. */
const ROUND_SECONDS = 10;
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

export async function round(side: Side, seconds: number): Promise<LoadResult> {
  const s =
    side === 'bare'
      ? await startBenchServer({}, 'apiserver')
      : await startBenchServer(side === 'chain' ? { ...ADMISSION, ...CONTROLLERS } : CONTROLLERS, 'up');
  try {
    await prepare(s, side !== 'bare');
    const body = pod('', 'bench');
    body.metadata = { generateName: 'p-', labels: body.metadata.labels };
    const request = { url: `${s.url}/api/v1/namespaces/bench/pods`, connections: 50, method: 'POST' };
    await load({ ...request, seconds: WARM_UP_SECONDS, body: JSON.stringify(body) });
    return await load({ ...request, seconds, body: JSON.stringify(body) });
  } finally {
    await s.close();
  }
}

const ROUND_SCRIPT = new URL('./admission-round.ts', import.meta.url).pathname;
export const RESULT_MARK = 'admission-round result: ';

/** One round in a fresh process: what it measured, as JSON on its stdout. */
function roundInProcess(side: Side, seconds: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ROUND_SCRIPT, side, String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const at = out.lastIndexOf(RESULT_MARK);
      if (code !== 0 || at < 0) reject(new Error(`admission round (${side}) exited ${code} without a result`));
      else resolve(JSON.parse(out.slice(at + RESULT_MARK.length)) as LoadResult);
    });
  });
}

export async function benchAdmission(seconds: number): Promise<Row[]> {
  const rates: Record<Side, number[]> = { chain: [], noAdmission: [], bare: [] };
  let failures = 0;
  let p99 = 0;
  // On a 2-core VM one round's figure moves by ±15% with what the host is doing: more rounds, not
  // longer ones, are what steady the ratio (--seconds 90 gives nine a side).
  const rounds = Math.max(1, Math.round(seconds / ROUND_SECONDS));
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < SIDES.length; j++) {
      const side = SIDES[(i + j) % SIDES.length]!;
      const r = await roundInProcess(side, Math.min(seconds, ROUND_SECONDS));
      rates[side].push(r.requestsPerSecond);
      failures += r.non2xx + r.errors;
      if (side === 'chain') p99 = Math.max(p99, r.p99Ms);
    }
  }
  const mean = (side: Side) => rates[side].reduce((x, y) => x + y, 0) / rounds;
  const chain = `${fmt.rps(mean('chain'))}, p99 ${fmt.ms(p99)}${failures ? `, ${failures} failed` : ''}`;
  const ratio = mean('chain') / mean('noAdmission');
  return [
    {
      scenario: 'CREATE pods, full admission chain + quota, 50 conns',
      skiff: chain,
      baseline: `${fmt.rps(mean('noAdmission'))} (same server and controllers, no admission plugins)`,
      ratio,
      target: '>= 0.7',
      met: ratio >= 0.7 && failures === 0,
    },
    {
      scenario: 'the same, against a bare API server (no controllers)',
      skiff: chain,
      baseline: `${fmt.rps(mean('bare'))} (no admission plugins, no controllers)`,
      ratio: mean('chain') / mean('bare'),
      target: 'report',
      met: true,
    },
  ];
}
