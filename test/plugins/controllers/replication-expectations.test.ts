/**
 * The replication controller's expectations, against a client whose watch lags behind its writes
 * (as a controller manager's does over HTTPS under load): the controller's own status write comes
 * back at once while the pods it created show up 400 ms later. Without expectations the next sync
 * would count the pods not yet seen and create them again; with them a burst of 50 stays 50, and a
 * scale-down deletes exactly the surplus.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import type { KubeObject } from '../../../core/api/types.js';
import type { ApiClient, KubeList, ResourceRef, WatchEvent } from '../../../core/client/types.js';
import { REPLICATION_CONTROLLERS } from '../../../plugins/controller-replication/kinds.js';
import { ReplicaManager } from '../../../plugins/controller-replication/replica-manager.js';
import { waitFor } from '../../helpers/wait.js';

const POD_LAG_MS = 400;
const OTHER_LAG_MS = 10;

/** An in-memory API whose watch events arrive late: pods' after POD_LAG_MS, others' after OTHER_LAG_MS. */
class LaggingClient {
  readonly stores = new Map<string, Map<string, KubeObject>>();
  private readonly watchers = new Map<string, Set<(e: WatchEvent) => void>>();
  private counter = 0;
  creates = 0;

  private store(r: ResourceRef) {
    if (!this.stores.has(r.resource)) this.stores.set(r.resource, new Map());
    return this.stores.get(r.resource)!;
  }

  private emit(r: ResourceRef, type: WatchEvent['type'], object: KubeObject) {
    const copy = structuredClone(object);
    setTimeout(
      () => {
        for (const w of this.watchers.get(r.resource) ?? []) w({ type, object: structuredClone(copy) });
      },
      r.resource === 'pods' ? POD_LAG_MS : OTHER_LAG_MS,
    );
  }

  async get(r: ResourceRef, ns: string, name: string) {
    const obj = this.store(r).get(`${ns}/${name}`);
    if (!obj) throw Object.assign(new Error('not found'), { code: 404, reason: 'NotFound', name: 'StatusError' });
    return structuredClone(obj);
  }
  async list(r: ResourceRef): Promise<KubeList> {
    return {
      apiVersion: 'v1',
      kind: 'List',
      metadata: { resourceVersion: '1' },
      items: [...this.store(r).values()].map((o) => structuredClone(o)),
    };
  }
  async create(r: ResourceRef, ns: string, obj: KubeObject) {
    const name = obj.metadata.name ?? `${obj.metadata.generateName}${++this.counter}`;
    const stored = {
      ...structuredClone(obj),
      metadata: {
        ...obj.metadata,
        name,
        namespace: ns,
        uid: `uid-${++this.counter}`,
        resourceVersion: String(++this.counter),
        creationTimestamp: new Date().toISOString(),
      },
    };
    this.store(r).set(`${ns}/${name}`, stored);
    if (r.resource === 'pods') this.creates++;
    this.emit(r, 'ADDED', stored);
    return structuredClone(stored);
  }
  async update(r: ResourceRef, ns: string, obj: KubeObject) {
    const stored = { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(++this.counter) } };
    this.store(r).set(`${ns}/${obj.metadata.name}`, stored);
    this.emit(r, 'MODIFIED', stored);
    return structuredClone(stored);
  }
  async patch(r: ResourceRef, ns: string, name: string, _t: string, patch: { spec?: object }) {
    const current = await this.get(r, ns, name);
    return this.update(r, ns, { ...current, spec: { ...(current.spec as object), ...patch.spec } });
  }
  async delete(r: ResourceRef, ns: string, name: string) {
    const obj = await this.get(r, ns, name);
    this.store(r).delete(`${ns}/${name}`);
    this.emit(r, 'DELETED', obj);
    return obj;
  }
  watch(r: ResourceRef, _ns: string, _o: unknown, onEvent: (e: WatchEvent) => void) {
    if (!this.watchers.has(r.resource)) this.watchers.set(r.resource, new Set());
    const set = this.watchers.get(r.resource)!;
    set.add(onEvent);
    let finish!: () => void;
    const done = new Promise<void>((res) => {
      finish = res;
    });
    return {
      stop: () => {
        set.delete(onEvent);
        finish();
      },
      done,
    };
  }
}

const RCS = { group: '', version: 'v1', resource: 'replicationcontrollers' };
const labels = { app: 'lag' };

describe('controller-replication expectations with a lagging watch', function () {
  this.timeout(30_000);
  let client: LaggingClient;
  let abort: AbortController;
  let running: Promise<void>;

  beforeEach(async () => {
    client = new LaggingClient();
    const rc = {
      metadata: { name: 'lag' },
      spec: {
        replicas: 0,
        selector: labels,
        template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    };
    await client.create(RCS, 'default', rc as KubeObject);
    abort = new AbortController();
    const manager = new ReplicaManager(
      {
        client: client as unknown as ApiClient,
        logger: pino({ level: 'silent' }),
        namespacedResources: async () => [],
      },
      REPLICATION_CONTROLLERS,
      { workers: 5, burstReplicas: 500 },
    );
    running = manager.run(abort.signal);
  });
  afterEach(async () => {
    abort.abort();
    await running;
  });

  const pods = () => client.stores.get('pods')?.size ?? 0;
  const scaleTo = (replicas: number) => client.patch(RCS, 'default', 'lag', 'merge', { spec: { replicas } });
  const settle = () => new Promise((r) => setTimeout(r, POD_LAG_MS * 3));

  it('a burst of 50 creates exactly 50 though the pods show up late', async () => {
    await scaleTo(50);
    await waitFor(
      '50 pods',
      async () => pods(),
      (n) => n >= 50,
    );
    await settle();
    expect(pods()).to.equal(50);
    expect(client.creates).to.equal(50);
  });

  it('scaling down deletes exactly the surplus though the deletions show up late', async () => {
    await scaleTo(10);
    await waitFor(
      '10 pods',
      async () => pods(),
      (n) => n === 10,
    );
    await settle();
    await scaleTo(4);
    await waitFor(
      '4 pods',
      async () => pods(),
      (n) => n <= 4,
    );
    await settle();
    expect(pods()).to.equal(4);
    expect(client.creates).to.equal(10);
  });
});
