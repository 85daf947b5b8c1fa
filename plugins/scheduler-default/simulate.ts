/**
 * `skiff scheduler simulate FILE`: where would each pending pod go, and why? Reads Nodes and Pods
 * (YAML or JSON, several documents or a List) or a live cluster's (--kubeconfig), runs the real
 * framework with the same KubeSchedulerConfiguration, and prints, pod after pod (each placed before
 * the next is tried), every node's verdict: the plugin that filtered it out and why, or each
 * plugin's score, its weight and the total. Nothing is written anywhere; preemption is not run.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { type ApiClient, type KubeObject, SkiffError } from 'skiff/sdk';
import { Command, Option } from 'skiff/sdk/cli';
import { fromKubeconfig, setUpComponentPlugins } from 'skiff/sdk/client';
import { parseAllDocuments } from 'yaml';
import { type Explanation, schedulePod } from './component/algorithm.js';
import { SchedulerComponent } from './component/component.js';
import { loadSchedulerConfiguration } from './config/configuration.js';
import { externalLookup } from './external.js';
import { SchedulingCycleState } from './framework/cycle-state.js';
import { FitError, fitMessage } from './framework/diagnosis.js';
import type { ListedKind, Listers } from './framework/handle.js';
import { PodInformation } from './model/pod-info.js';
import { type SchedulerPluginConfig, schedulerConfigurationOf } from './settings.js';
import { type PodVerdict, renderText } from './simulate-report.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

const PLURALS: Record<string, ListedKind> = {
  Namespace: 'namespaces',
  Service: 'services',
  ReplicationController: 'replicationcontrollers',
  ReplicaSet: 'replicasets',
  StatefulSet: 'statefulsets',
  PersistentVolumeClaim: 'persistentvolumeclaims',
};

class StaticListers implements Listers {
  readonly byKind = new Map<ListedKind, KubeObject[]>();
  list(kind: ListedKind): readonly KubeObject[] {
    return this.byKind.get(kind) ?? [];
  }
  get(kind: ListedKind, namespace: string, name: string): KubeObject | undefined {
    return this.list(kind).find((o) => (o.metadata.namespace ?? '') === namespace && o.metadata.name === name);
  }
}

/** Every object of a file: documents, and the items of Lists. */
export function objectsOf(text: string, source: string): KubeObject[] {
  const docs = parseAllDocuments(text);
  const out: KubeObject[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length)
      throw new SkiffError(
        'SKIFF_SIMULATE_INPUT',
        `${source}: ${doc.errors[0]!.message.split('\n')[0]}`,
        'give a YAML or JSON file of Nodes and Pods',
      );
    const o = doc.toJS() as KubeObject | null;
    if (!o) continue;
    if (Array.isArray((o as Obj).items)) out.push(...((o as Obj).items as KubeObject[]));
    else out.push(o);
  }
  return out.map((o) => ({ ...o, metadata: { ...obj(o.metadata) } }) as KubeObject);
}

let uidCounter = 0;
/** What the API server would have filled in for a pod written by hand. */
function asCreated(pod: KubeObject, priorities: Map<string, number>): KubeObject {
  const spec = { ...obj(pod.spec) };
  spec.schedulerName ??= 'default-scheduler';
  if (spec.priority === undefined)
    spec.priority = priorities.get(String(spec.priorityClassName ?? '')) ?? priorities.get('') ?? 0;
  const metadata = {
    ...pod.metadata,
    namespace: pod.metadata.namespace ?? 'default',
    uid: pod.metadata.uid ?? `simulated-${++uidCounter}`,
  };
  return { ...pod, kind: 'Pod', metadata, spec };
}

/** Class name → value, and '' → the global default's value. */
function priorityClasses(objects: readonly KubeObject[]): Map<string, number> {
  const m = new Map<string, number>([
    ['system-cluster-critical', 2000000000],
    ['system-node-critical', 2000001000],
  ]);
  for (const o of objects) {
    if (o.kind !== 'PriorityClass') continue;
    m.set(o.metadata.name ?? '', Number((o as Obj).value ?? 0));
    if ((o as Obj).globalDefault === true) m.set('', Number((o as Obj).value ?? 0));
  }
  return m;
}

/** What a live cluster holds that scheduling reads; Nodes and Pods must list, the rest may be unserved. */
const LIVE_KINDS: [group: string, resource: string, kind: string, required: boolean][] = [
  ['', 'nodes', 'Node', true],
  ['', 'pods', 'Pod', true],
  ['', 'namespaces', 'Namespace', false],
  ['', 'services', 'Service', false],
  ['', 'replicationcontrollers', 'ReplicationController', false],
  ['', 'persistentvolumeclaims', 'PersistentVolumeClaim', false],
  ['apps', 'replicasets', 'ReplicaSet', false],
  ['apps', 'statefulsets', 'StatefulSet', false],
];

export async function liveObjects(client: ApiClient): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const [group, resource, kind, required] of LIVE_KINDS) {
    const list = await client.list({ group, version: 'v1', resource }, '').catch((err: Error) => {
      if (!required) return { items: [] as KubeObject[] };
      throw new SkiffError(
        'SKIFF_SIMULATE_INPUT',
        `cannot list ${resource} of the cluster: ${err.message}`,
        'check --kubeconfig: the server must be reachable, and its user allowed to list nodes and pods',
      );
    });
    out.push(...list.items.map((o) => ({ ...o, kind })));
  }
  return out;
}

/** Runs the simulation; the verdict for each pending pod, in the order they were tried. */
export function simulate(component: SchedulerComponent, objects: readonly KubeObject[]): PodVerdict[] {
  const listers = new StaticListers();
  const priorities = priorityClasses(objects);
  const pending: PodInformation[] = [];
  for (const o of objects) {
    if (o.kind === 'Node') component.cache.addNode(o);
    else if (PLURALS[o.kind ?? '']) listers.byKind.set(PLURALS[o.kind!]!, [...listers.list(PLURALS[o.kind!]!), o]);
  }
  component.listers.inner = listers;
  for (const o of objects) {
    if (o.kind !== 'Pod') continue;
    const pod = asCreated(o, priorities);
    const phase = obj(pod.status).phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    if (obj(pod.spec).nodeName) component.cache.addOrUpdatePod(pod);
    else if (component.responsibleFor(pod)) pending.push(new PodInformation(pod));
  }
  const first = [...component.frameworks.values()][0]!;
  const order = pending.map((info, i) => ({ info, timestamp: i, attempts: 0 }));
  order.sort((a, b) => (first.less(a, b) ? -1 : first.less(b, a) ? 1 : 0));
  return order.map(({ info }) => simulateOne(component, info));
}

function simulateOne(component: SchedulerComponent, pod: PodInformation): PodVerdict {
  const fwk = component.frameworks.get(String(pod.spec.schedulerName))!;
  const explain: Explanation = { filtered: new Map(), feasible: [] };
  const ctx = {
    cache: component.cache,
    percentageOfNodesToScore: component.options.config.percentageOfNodesToScore,
    nextStart: 0,
    explain,
  };
  const gate = fwk.runPreEnqueue(pod);
  if (gate)
    return {
      pod: pod.key,
      profile: fwk.schedulerName,
      message: `not queued: ${gate.plugin}: ${gate.reasons.join(', ')}`,
      explain,
    };
  try {
    const { node } = schedulePod(ctx, fwk, new SchedulingCycleState(), pod);
    component.cache.assume(pod.assumedOn(node));
    return { pod: pod.key, profile: fwk.schedulerName, node, explain };
  } catch (err) {
    const message = err instanceof FitError ? fitMessage(err.numAllNodes, err.diagnosis) : (err as Error).message;
    return { pod: pod.key, profile: fwk.schedulerName, message, explain };
  }
}

async function liveCluster(kubeconfig: string): Promise<KubeObject[]> {
  const client = fromKubeconfig(resolve(kubeconfig), { userAgent: 'skiff-scheduler-simulate' });
  try {
    return await liveObjects(client);
  } finally {
    client.close();
  }
}

interface SimulateOptions {
  config?: string;
  kubeconfig?: string;
  skiffConfig?: string;
  output: string;
}

async function runSimulate(file: string | undefined, opts: SimulateOptions): Promise<void> {
  if (!file && !opts.kubeconfig) {
    throw new SkiffError(
      'SKIFF_SIMULATE_INPUT',
      'nothing to simulate: give a file of Nodes and Pods, or --kubeconfig for a live cluster',
      'skiff scheduler simulate cluster.yaml',
    );
  }
  const logger = pino({ level: 'warn' });
  const plugins = await setUpComponentPlugins({
    configFile: opts.skiffConfig,
    role: 'scheduler',
    select: (p) => p.roles.includes('scheduler'),
    logger,
  });
  try {
    const block = plugins.configOf<SchedulerPluginConfig>('scheduler-default');
    const config = opts.config ? loadSchedulerConfiguration(resolve(opts.config)) : schedulerConfigurationOf(block);
    const component = new SchedulerComponent({ logger, config, external: externalLookup(plugins.use) });
    const objects = file ? objectsOf(readFileSync(file, 'utf8'), file) : await liveCluster(opts.kubeconfig!);
    const verdicts = simulate(component, objects);
    process.stdout.write(
      opts.output === 'json' ? `${JSON.stringify(verdicts.map(toJson), null, 2)}\n` : renderText(verdicts),
    );
  } finally {
    await plugins.close();
  }
}

function toJson(v: PodVerdict) {
  const scores = v.explain.scores;
  return {
    pod: v.pod,
    profile: v.profile,
    node: v.node ?? null,
    message: v.message,
    filtered: Object.fromEntries(v.explain.filtered),
    scores: scores
      ? Object.fromEntries(
          scores.nodes.map((n, i) => [
            n,
            {
              total: scores.totals[i],
              plugins: Object.fromEntries(
                scores.plugins.map((p) => [p.plugin, { raw: p.raw[i], normalized: p.normalized[i], weight: p.weight }]),
              ),
            },
          ]),
        )
      : {},
  };
}

export function simulateCommand(): Command {
  return (
    new Command('simulate')
      .description(
        'where would each pending pod go, and why: every node filtered (which plugin, why) or scored (each plugin), offline',
      )
      .argument(
        '[file]',
        'Nodes and Pods (YAML or JSON; documents or a List); bound pods count as running, pending ones are scheduled in queue order',
      )
      .option(
        '--config <file>',
        "a KubeSchedulerConfiguration to simulate with (default: the Skiff config's, else upstream defaults)",
      )
      .option('--kubeconfig <file>', 'read the Nodes and Pods of a live cluster instead (nothing is written)')
      .option(
        '--skiff-config <file>',
        'the Skiff config file whose scheduler plugins load (default: config/default.yaml)',
      )
      .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
      // `skiff scheduler` has --config and --kubeconfig too, and commander gives them to it even after
      // `simulate`: read them from either command.
      .action((file: string | undefined, _opts: SimulateOptions, cmd: Command) =>
        runSimulate(file, cmd.optsWithGlobals<SimulateOptions>()),
      )
  );
}
