/**
 * The scheduler as a component: its profiles built from the configuration (bad plugins and args
 * stop it before anything runs), its informers, queue and cache, and the scheduling loop, run
 * under leader election when asked (standbys keep their queue and cache warm). The same object
 * runs inside `skiff up` and in `skiff scheduler`.
 */
import type { Logger } from 'pino';
import type { ApiClient, KubeObject } from 'skiff/sdk';
import type { LeaderElection, LeaderElectorOptions } from 'skiff/sdk/client';
import { SchedulerCache } from '../cache/cache.js';
import type { SchedulerConfiguration } from '../config/configuration.js';
import { buildFrameworks, type ExternalLookup } from '../config/profiles.js';
import type { Framework } from '../framework/framework.js';
import type { InternalHandle, ListedKind, Listers } from '../framework/handle.js';
import { Nominator } from '../framework/nominator.js';
import { WaitingPods } from '../framework/waiting-pods.js';
import { registrationsOf } from '../queue/events.js';
import { SchedulingQueue } from '../queue/scheduling-queue.js';
import { EventRecorder } from './events.js';
import { type Watched, watchCluster } from './informers.js';
import { SchedulerMetrics } from './metrics.js';
import { Scheduler } from './scheduler.js';

export interface ComponentOptions {
  /** Acting as system:kube-scheduler; undefined builds the profiles only (`simulate`, checks). */
  client?: ApiClient;
  logger: Logger;
  config: SchedulerConfiguration;
  external: ExternalLookup;
  leaderElection?: {
    electors: LeaderElection;
    options: Omit<LeaderElectorOptions, 'client' | 'logger'>;
    client?: ApiClient;
  };
}

/** Listers filled in once the informers exist (plugins are built before). */
class LateListers implements Listers {
  inner?: Listers;
  list(kind: ListedKind): readonly KubeObject[] {
    return this.inner?.list(kind) ?? [];
  }
  get(kind: ListedKind, namespace: string, name: string): KubeObject | undefined {
    return this.inner?.get(kind, namespace, name);
  }
}

export class SchedulerComponent {
  readonly cache = new SchedulerCache();
  readonly nominator = new Nominator();
  readonly waitingPods = new WaitingPods();
  readonly listers = new LateListers();
  readonly events: EventRecorder;
  readonly frameworks: Map<string, Framework>;
  readonly queue: SchedulingQueue;
  readonly metrics: SchedulerMetrics;
  readonly scheduler: Scheduler;
  private watched?: Watched;
  private running?: Promise<void>;
  private readonly abort = new AbortController();
  leading = false;

  constructor(readonly options: ComponentOptions) {
    const { config, logger, client } = options;
    this.events = new EventRecorder(client, logger);
    const frameworks = new Map<string, Framework>();
    const handle = (schedulerName: string): InternalHandle => ({
      schedulerName,
      logger: logger.child({ profile: schedulerName }),
      client,
      cache: this.cache,
      nominator: this.nominator,
      listers: this.listers,
      events: this.events,
      framework: () => frameworks.get(schedulerName)!,
      nodeInfos: () => this.cache.nodeList(),
      nodeInfo: (name) => {
        const n = this.cache.nodes.get(name);
        return n?.hasNode ? n : undefined;
      },
      list: (kind) => this.listers.list(kind),
      waitingPod: (uid) => this.waitingPods.get(uid),
      waitingPods: () => this.waitingPods.list(),
    });
    for (const [name, fwk] of buildFrameworks(config, handle, options.external)) {
      fwk.nominator = this.nominator;
      frameworks.set(name, fwk);
    }
    this.frameworks = frameworks;
    const first = [...frameworks.values()][0]!;
    this.queue = new SchedulingQueue({
      less: (a, b) => first.less(a, b),
      preEnqueue: (info) => frameworks.get(String(info.spec.schedulerName ?? ''))?.runPreEnqueue(info),
      registrations: registrationsOf([...frameworks.values()].flatMap((f) => [...f.plugins.values()])),
      initialBackoffMs: config.podInitialBackoffSeconds * 1000,
      maxBackoffMs: config.podMaxBackoffSeconds * 1000,
      maxUnschedulableMs: 5 * 60_000,
    });
    this.metrics = new SchedulerMetrics(() => this.queue.pending());
    this.scheduler = new Scheduler({
      cache: this.cache,
      queue: this.queue,
      frameworks,
      nominator: this.nominator,
      waitingPods: this.waitingPods,
      events: this.events,
      metrics: this.metrics,
      client,
      logger,
      percentageOfNodesToScore: config.percentageOfNodesToScore,
      currentPod: (ns, name) => this.watched?.pods.items.get(`${ns}/${name}`),
    });
  }

  /** Whether a pod is one of this scheduler's: its schedulerName names a profile. */
  responsibleFor(pod: KubeObject): boolean {
    return this.frameworks.has(String((pod.spec as { schedulerName?: string } | undefined)?.schedulerName ?? ''));
  }

  /** Starts watching and (once synced, and leading if elected) scheduling; returns at once. */
  start(): void {
    const client = this.options.client;
    if (!client) throw new Error('a scheduler without an API client can only simulate');
    const signal = this.abort.signal;
    this.running = (async () => {
      this.watched = await watchCluster({
        client,
        logger: this.options.logger,
        cache: this.cache,
        queue: this.queue,
        nominator: this.nominator,
        waitingPods: this.waitingPods,
        responsibleFor: (pod) => this.responsibleFor(pod),
      });
      this.listers.inner = this.watched.listers;
      const informing = this.watched.run(signal);
      await Promise.race([
        this.watched.hasSynced(),
        new Promise((r) => signal.addEventListener('abort', r, { once: true })),
      ]);
      this.queue.run();
      await Promise.all([informing, this.schedule(signal)]);
    })();
    this.running.catch((err: unknown) => this.options.logger.error({ err }, 'the scheduler stopped'));
  }

  /** Resolves once the informers have listed everything (tests, `skiff scheduler` logs). */
  async synced(): Promise<void> {
    while (!this.watched && !this.abort.signal.aborted) await new Promise((r) => setTimeout(r, 10));
    await this.watched?.hasSynced();
  }

  private async schedule(signal: AbortSignal): Promise<void> {
    const le = this.options.leaderElection;
    if (!le) {
      this.leading = true;
      return this.scheduler.run(signal);
    }
    const logger = this.options.logger.child({ component: 'leader-election' });
    const elector = le.electors.elector({ ...le.options, client: le.client ?? this.options.client!, logger });
    while (!signal.aborted) {
      await elector.run(signal, {
        onStartedLeading: async (leading) => {
          this.leading = true;
          this.options.logger.info({ identity: elector.identity }, 'leading: scheduling pods');
          try {
            await this.scheduler.run(leading);
          } finally {
            this.leading = false;
          }
        },
        onStoppedLeading: () =>
          this.options.logger.info({ identity: elector.identity }, 'not leading: scheduling stopped'),
      });
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.queue.close();
    await this.running?.catch(() => undefined);
    await this.scheduler.drain();
    await this.events.flush(2_000);
  }
}
