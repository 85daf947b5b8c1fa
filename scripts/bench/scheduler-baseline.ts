/**
 * The scheduler benchmark's baseline: the least a scheduler must do, through the same in-process
 * client and pods/binding path (acting as system:kube-scheduler): watch pods, and bind each
 * pending one to the next node in turn, with bindings in flight concurrently as the scheduler's
 * binding cycles are. No queue order, no cache, no filters, no scores, no events.
 */
import { pino } from 'pino';
import type { KubeObject } from '../../core/api/types.js';
import { Informer } from '../../core/client/informer.js';
import type { ApiClient } from '../../core/client/types.js';

const PODS = { group: '', version: 'v1', resource: 'pods' };
const NODES = { group: '', version: 'v1', resource: 'nodes' };

export class RoundRobinBinder {
  private readonly abort = new AbortController();
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly pending: KubeObject[] = [];
  private readonly seen = new Set<string>();
  private next = 0;
  private names?: string[];
  private running?: Promise<void>;
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly client: ApiClient) {
    const logger = pino({ level: 'warn' });
    this.pods = new Informer(client, PODS, logger);
    this.nodes = new Informer(client, NODES, logger);
  }

  start(): void {
    const { signal } = this.abort;
    this.running = Promise.all([
      this.nodes.run(signal, () => {
        this.names = undefined;
      }),
      this.pods.run(signal, (type, pod) => {
        const uid = pod.metadata.uid ?? '';
        if (type === 'DELETED' || (pod.spec as { nodeName?: string }).nodeName || this.seen.has(uid)) return;
        this.seen.add(uid);
        this.pending.push(pod);
        this.pump();
      }),
    ]).then(() => undefined);
  }

  private pump(): void {
    this.names ??= [...this.nodes.items.values()].map((n) => n.metadata.name!);
    const names = this.names;
    while (this.pending.length && names.length) {
      const pod = this.pending.shift()!;
      const node = names[this.next++ % names.length]!;
      const bind = this.client
        .create(
          PODS,
          pod.metadata.namespace ?? '',
          {
            apiVersion: 'v1',
            kind: 'Binding',
            metadata: { name: pod.metadata.name, uid: pod.metadata.uid },
            target: { kind: 'Node', name: node },
          } as unknown as KubeObject,
          { subresource: 'binding' },
        )
        .then(() => undefined);
      this.inFlight.add(bind);
      void bind.finally(() => this.inFlight.delete(bind));
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    await Promise.all([...this.inFlight]);
  }
}
