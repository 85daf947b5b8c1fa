/**
 * The kubelet's read endpoints: /healthz (ping, log, syncloop), /pods (the pods this kubelet runs
 * or must run, a v1 PodList), /runningpods/ (what the runtime holds, as minimal pods), /spec/ (the
 * machine, cAdvisor's MachineInfo), /stats/ and /stats/summary, /metrics and /metrics/resource;
 * and /run (a command's combined output, with the debugging handlers).
 */
import { availableParallelism, cpus } from 'node:os';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isRuntimeError, KUBE_LABELS } from 'skiff/sdk/runtime';
import type { KubeletState } from '../kubelet.js';
import { machineInfo } from '../machine.js';
import { instancesOf } from '../pod-state.js';
import { fsUsage, hostInterfaces } from '../stats/host.js';
import type { StatsProvider } from '../stats/provider.js';
import { resourceMetrics } from '../stats/resource-metrics.js';
import { buildSummary, rootContainerInfo } from '../stats/summary.js';
import { type Exchange, reply, sendJson } from './exchange.js';
import type { KubeletMetrics } from './metrics.js';

export interface HandlerContext {
  state: KubeletState;
  stats: StatsProvider;
  metrics: KubeletMetrics;
}

const HEALTH_CHECKS = ['ping', 'log', 'syncloop'] as const;

/** healthz as k8s.io/apiserver serves it: "ok", a check by name, or ?verbose with one line per check. */
export async function healthz(ex: Exchange, ctx: HandlerContext, check?: string): Promise<void> {
  const results = new Map<string, string | undefined>();
  for (const name of HEALTH_CHECKS) results.set(name, name === 'syncloop' ? await syncLoop(ctx.state) : undefined);
  if (check) {
    if (!results.has(check)) return reply(ex, 404, '404 page not found\n');
    const failure = results.get(check);
    return failure ? reply(ex, 500, `internal server error: ${failure}\n`) : reply(ex, 200, 'ok');
  }
  const failed = [...results].filter(([, f]) => f);
  if (!ex.query.has('verbose') && !failed.length) return reply(ex, 200, 'ok');
  const lines = [...results].map(([name, f]) => (f ? `[-]${name} failed: reason withheld` : `[+]${name} ok`));
  lines.push(failed.length ? 'healthz check failed' : 'healthz check passed');
  reply(ex, failed.length ? 500 : 200, `${lines.join('\n')}\n`);
}

/** The kubelet syncs pods through its runtime: the check fails while the runtime does not answer ready. */
async function syncLoop(state: KubeletState): Promise<string | undefined> {
  try {
    return (await state.runtime.status()).runtimeReady ? undefined : 'the container runtime is not ready';
  } catch (err) {
    return (err as Error).message;
  }
}

export function pods(ex: Exchange, ctx: HandlerContext): void {
  sendJson(ex, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: ctx.state.pods() });
}

/** Upstream's runningpods: each sandbox the runtime holds as a pod with its containers' names and images. */
export async function runningPods(ex: Exchange, ctx: HandlerContext): Promise<void> {
  const runtime = ctx.state.runtime;
  const [sandboxes, containers] = await Promise.all([
    runtime.listPodSandboxes(),
    runtime.listContainers({ state: 'running' }),
  ]);
  const items: Pod[] = sandboxes.map((s) => ({
    metadata: {
      name: s.metadata.name,
      namespace: s.metadata.namespace,
      uid: s.labels[KUBE_LABELS.podUid] ?? s.metadata.uid,
    },
    spec: {
      containers: containers.filter((c) => c.podSandboxId === s.id).map((c) => ({ name: c.name, image: c.image })),
    },
    status: {},
  }));
  sendJson(ex, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
}

/** cAdvisor's MachineInfo for this node (its share of the machine, as its capacity reports). */
export function spec(ex: Exchange, ctx: HandlerContext): void {
  const info = machineInfo(ctx.state.rootDir, ctx.state.nodeName);
  const fs = fsUsage(ctx.state.rootDir);
  sendJson(ex, {
    timestamp: new Date().toISOString(),
    num_cores: availableParallelism(),
    num_physical_cores: availableParallelism(),
    num_sockets: 1,
    cpu_frequency_khz: (cpus()[0]?.speed ?? 0) * 1000,
    memory_capacity: info.memoryBytes,
    swap_capacity: 0,
    machine_id: info.machineID,
    system_uuid: info.systemUUID,
    boot_id: info.bootID,
    filesystems: fs
      ? [{ device: ctx.state.rootDir, capacity: fs.capacityBytes, type: 'vfs', inodes: fs.inodes, has_inodes: true }]
      : [],
    disk_map: {},
    network_devices: hostInterfaces().map((i) => ({ name: i.name, mac_address: '', speed: 0, mtu: 0 })),
    topology: [],
    cloud_provider: 'Unknown',
    instance_type: 'Unknown',
    instance_id: 'None',
  });
}

export async function statsSummary(ex: Exchange, ctx: HandlerContext): Promise<void> {
  const sample = await ctx.stats.current();
  sendJson(ex, buildSummary(sample, ctx.state.nodeName, ex.query.get('only_cpu_and_memory') === 'true'));
}

export async function statsRoot(ex: Exchange, ctx: HandlerContext): Promise<void> {
  await ctx.stats.current();
  sendJson(ex, rootContainerInfo(ctx.stats.recent(), ctx.state.nodeName));
}

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

export async function metricsResource(ex: Exchange, ctx: HandlerContext): Promise<void> {
  let text: string;
  try {
    text = resourceMetrics(await ctx.stats.current(), false);
  } catch {
    text = resourceMetrics(undefined, true);
  }
  ex.res!.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT });
  ex.res!.end(text);
}

export async function metrics(ex: Exchange, ctx: HandlerContext): Promise<void> {
  const text = await ctx.metrics.registry.metrics();
  ex.res!.writeHead(200, { 'Content-Type': ctx.metrics.registry.contentType });
  ex.res!.end(text);
}

/** How long /run may take: a command that runs longer is killed (upstream waits without bound). */
const RUN_TIMEOUT_SECONDS = 300;

/** POST /run/<ns>/<pod>[/<uid>]/<container>?cmd=…: the command (split on spaces, as upstream) and its stdout then stderr. */
export async function run(
  ex: Exchange,
  ctx: HandlerContext,
  t: { namespace: string; pod: string; uid?: string; container: string },
): Promise<void> {
  const pod = ctx.state.pod(t.namespace, t.pod);
  if (!pod || (t.uid && pod.metadata?.uid !== t.uid)) return reply(ex, 404, 'pod does not exist');
  const cmd = (ex.query.get('cmd') ?? '').split(' ');
  const container = instancesOf(await ctx.state.runtimeState(pod.metadata?.uid ?? ''), t.container).current;
  if (container?.state !== 'running') return reply(ex, 404, `container not found ("${t.container}")`);
  try {
    const result = await ctx.state.runtime.execSync(container.id, cmd, RUN_TIMEOUT_SECONDS);
    if (result.exitCode !== 0) {
      // Upstream's ExecSync turns a non-zero exit into an error, which /run answers with 500.
      return reply(ex, 500, `command '${cmd.join(' ')}' exited with ${result.exitCode}: ${result.stderr.toString()}`);
    }
    const body = Buffer.concat([result.stdout, result.stderr]);
    ex.res!.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    ex.res!.end(body);
  } catch (err) {
    reply(ex, isRuntimeError(err, 'NotFound') ? 404 : 500, (err as Error).message);
  }
}
