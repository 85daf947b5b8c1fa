/**
 * Upstream's garbage collector (pkg/controller/garbagecollector): an informer on every kind that
 * can be listed, watched and deleted feeds the dependency graph; two queues of uids, "attempt to
 * delete" and "attempt to orphan", are worked by --concurrent-gc-syncs workers each once every
 * informer has taken in its first list. See attempt.ts for what one item's work is.
 */
import { type ControllerContext, Informer, type KubeObject } from 'skiff/sdk';
import type { ServedResource } from 'skiff/sdk/client';
import { ControllerQueue, eventRecorder } from 'skiff/sdk/controller';
import { AbsentOwners } from './absent-owners.js';
import { type AttemptContext, attemptToDelete, NamespacedOwnerOfClusterScoped, orphanDependents } from './attempt.js';
import { Graph, type GraphNode, type Identity } from './graph.js';
import { GraphBuilder } from './graph-builder.js';
import { RestMapper } from './resources.js';

/** How soon a virtual node that exists is looked at again while its informer has not seen it yet. */
const UNOBSERVED_RETRY_MS = 1_000;

export class GarbageCollector {
  readonly graph = new Graph();
  private readonly absent = new AbsentOwners();
  private readonly deletes = new ControllerQueue();
  private readonly orphans = new ControllerQueue();
  private readonly mapper: RestMapper;
  private readonly builder: GraphBuilder;
  private readonly attempts: AttemptContext;

  constructor(
    private readonly c: ControllerContext,
    private readonly workers: number,
  ) {
    this.mapper = new RestMapper(c);
    const events = eventRecorder(c.client, 'garbage-collector-controller', c.logger);
    this.builder = new GraphBuilder(this.graph, {
      attemptToDelete: (node) => this.deletes.add(node.identity.uid),
      attemptToOrphan: (node) => this.orphans.add(node.identity.uid),
      absent: (identity) => this.absent.add(identity),
      warn: (dependent, reason, message) => events.event(involved(dependent), 'Warning', reason, message),
    });
    this.attempts = {
      client: c.client,
      mapper: this.mapper,
      builder: this.builder,
      absent: this.absent,
      attemptToDelete: (node) => this.deletes.add(node.identity.uid),
    };
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.mapper.load();
    const monitored = this.mapper.monitored();
    const informers = monitored.map((r) => new Informer(this.c.client, r, this.c.logger));
    const watching = informers.map((informer, i) =>
      informer.run(signal, (type, obj) => this.builder.observe(type, obj, monitored[i] as ServedResource)),
    );
    await untilSynced(signal, informers);
    this.c.logger.info({ resources: monitored.length, objects: this.graph.size }, 'all resource monitors have synced');
    const working = signal.aborted
      ? []
      : [
          this.deletes.run(signal, this.workers, (uid) => this.deleteWork(uid), this.c.logger),
          this.orphans.run(signal, this.workers, (uid) => this.orphanWork(uid), this.c.logger),
        ];
    await Promise.all([...watching, ...working]);
  }

  private async deleteWork(uid: string): Promise<void> {
    const node = this.graph.get(uid);
    if (!node) return;
    try {
      const outcome = await attemptToDelete(this.attempts, node);
      if (outcome === 'unobserved' && this.graph.get(uid)?.virtual) this.deletes.addAfter(uid, UNOBSERVED_RETRY_MS);
    } catch (err) {
      // Retrying cannot help: the reference is invalid for good.
      if (err instanceof NamespacedOwnerOfClusterScoped)
        return void this.c.logger.debug({ err: err.message }, 'not collected');
      throw err;
    }
  }

  private async orphanWork(uid: string): Promise<void> {
    const node = this.graph.get(uid);
    if (node) await orphanDependents(this.attempts, node);
  }
}

/** An Event's object: the graph's coordinates of the dependent. */
function involved(identity: Identity): KubeObject {
  const { apiVersion, kind, namespace, name, uid } = identity;
  return { apiVersion, kind, metadata: { namespace: namespace || undefined, name, uid } };
}

function untilSynced(signal: AbortSignal, informers: Informer[]): Promise<void> {
  return new Promise((resolve) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
    void Promise.all(informers.map((i) => i.hasSynced())).then(() => resolve());
  });
}

export type { GraphNode };
