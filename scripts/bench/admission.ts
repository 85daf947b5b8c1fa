/**
 * CREATE pods through the full default admission chain (NamespaceLifecycle, LimitRanger,
 * ServiceAccount, SecurityContextDeny, ResourceQuota with a quota present) against CREATE on the
 * same server with no admission plugins, in the same run. Both run `skiff up`'s role with the
 * namespace, service-account and quota controllers (the quota's status needs its controller) and
 * the same LimitRange, quota and service account in the namespace, so the ratio is the price of
 * admission alone. A third side, a bare API server without controllers, is reported as well: it
 * shows what the in-process controllers' watch of every pod costs on top.
 *
 * Every side is a server in a process of its own (admission-server.ts): sides sharing one process
 * inherited each other's heap and JIT state, which moved a side's figure by up to 40% depending on
 * what ran before it. A round starts all three, warms each up (JIT, caches), then loads them in
 * turns of 2 s, the order rotating, and ends them. The host moves a 2-core VM's figures by ±15%
 * from one second to the next (a tight loop of JSON.parse does too); sides that take turns every
 * 2 s while all are up meet the same host, where rounds of 10 s one after the other did not: their
 * ratio moved by ±0.04 from run to run of 90 s.
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
  'quota-evaluator': {},
  'controller-namespace': {},
  'controller-service-account': {},
  'controller-resource-quota': {},
};

export type Side = 'chain' | 'noAdmission' | 'bare';
const SIDES: Side[] = ['noAdmission', 'chain', 'bare'];
/** Each round measures a side this long (or the whole --seconds if shorter); --seconds sets how many rounds. */
const ROUND_SECONDS = 10;
const SLICE_SECONDS = 2;
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

/** A side's server, prepared for the load: what admission-server.ts runs. */
export async function serve(side: Side): Promise<BenchServer> {
  const s =
    side === 'bare'
      ? await startBenchServer({}, 'apiserver')
      : await startBenchServer(side === 'chain' ? { ...ADMISSION, ...CONTROLLERS } : CONTROLLERS, 'up');
  await prepare(s, side !== 'bare');
  return s;
}

const SERVER_SCRIPT = new URL('./admission-server.ts', import.meta.url).pathname;
export const SERVING_MARK = 'admission-server serving: ';

interface Running {
  side: Side;
  url: string;
  stop(): Promise<void>;
}

/** A side's server in a process of its own, once it is prepared and serving. */
function startSide(side: Side): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, side], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    const stop = async () => {
      child.stdin!.end();
      await exited;
    };
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const at = out.indexOf(SERVING_MARK);
      const end = out.indexOf('\n', at);
      if (at >= 0 && end > at) resolve({ side, url: out.slice(at + SERVING_MARK.length, end), stop });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`admission server (${side}) exited ${code} before serving`)));
  });
}

const CREATE_BODY = (() => {
  const body = pod('', 'bench');
  body.metadata = { generateName: 'p-', labels: body.metadata.labels };
  return JSON.stringify(body);
})();

function createLoad(url: string, seconds: number): Promise<LoadResult> {
  const target = `${url}/api/v1/namespaces/bench/pods`;
  return load({ url: target, connections: 50, method: 'POST', seconds, body: CREATE_BODY });
}

type Results = Record<Side, LoadResult[]>;

/**
 * One round: every side's server up at once, each warmed up, then short slices of load taking
 * turns, so what the host does during the round weighs on every side alike.
 */
async function measureRound(round: number, slices: number): Promise<Results> {
  const results: Results = { chain: [], noAdmission: [], bare: [] };
  const running = await Promise.all(SIDES.map(startSide));
  try {
    for (const r of running) await createLoad(r.url, WARM_UP_SECONDS);
    for (let i = 0; i < slices; i++) {
      for (let j = 0; j < running.length; j++) {
        const r = running[(round + i + j) % running.length]!;
        results[r.side].push(await createLoad(r.url, SLICE_SECONDS));
      }
    }
  } finally {
    await Promise.all(running.map((r) => r.stop()));
  }
  return results;
}

const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
const meanRate = (rs: LoadResult[]) => mean(rs.map((r) => r.requestsPerSecond));

export async function benchAdmission(seconds: number): Promise<Row[]> {
  const all: Results = { chain: [], noAdmission: [], bare: [] };
  const slicesPerRound = Math.max(1, Math.round(Math.min(seconds, ROUND_SECONDS) / SLICE_SECONDS));
  const rounds = Math.max(1, Math.round(seconds / ROUND_SECONDS));
  const roundRatios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const round = await measureRound(i, slicesPerRound);
    roundRatios.push(meanRate(round.chain) / meanRate(round.noAdmission));
    for (const side of SIDES) all[side].push(...round[side]);
  }
  const failures = SIDES.flatMap((side) => all[side]).reduce((n, r) => n + r.non2xx + r.errors, 0);
  const p99 = Math.max(...all.chain.map((r) => r.p99Ms));
  const [chain, noAdmission, bare] = [meanRate(all.chain), meanRate(all.noAdmission), meanRate(all.bare)];
  const ratio = chain / noAdmission;
  const spread =
    rounds > 1 ? `; rounds ${Math.min(...roundRatios).toFixed(2)}–${Math.max(...roundRatios).toFixed(2)}` : '';
  const chainCell = `${fmt.rps(chain)}, p99 ${fmt.ms(p99)}${failures ? `, ${failures} failed` : ''}`;
  return [
    {
      scenario: 'CREATE pods, full admission chain + quota, 50 conns',
      skiff: chainCell,
      baseline: `${fmt.rps(noAdmission)} (same server and controllers, no admission plugins${spread})`,
      ratio,
      target: '>= 0.7',
      met: ratio >= 0.7 && failures === 0,
    },
    {
      scenario: 'the same, against a bare API server (no controllers)',
      skiff: chainCell,
      baseline: `${fmt.rps(bare)} (no admission plugins, no controllers)`,
      ratio: chain / bare,
      target: 'report',
      met: true,
    },
  ];
}
