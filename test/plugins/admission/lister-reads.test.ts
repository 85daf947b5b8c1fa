/**
 * How NamespaceLifecycle, ServiceAccount and LimitRanger read, as upstream's plugins do: the watch
 * cache as it is (their listers), answered synchronously, and a live lookup (a consistent read)
 * when the cache has nothing, or, for a namespace deleted a moment ago, when it may be stale. The
 * plugins run against a fake API whose cache and live answers differ, so each path is seen.
 */
import { expect } from 'chai';
import pino from 'pino';
import type { AdmissionAttributes, AdmissionPlugin } from '../../../core/auth-types.js';
import { errors, isStatusError } from '../../../core/errors.js';
import type { PluginContext, PluginManifest } from '../../../core/plugins/contract.js';
import { type CachedReads, cachedObjectsOver } from '../../../core/plugins/plugin-api.js';
import type { KubeObject } from '../../../core/sdk/index.js';
import limitRanger from '../../../plugins/admission-limit-ranger/index.js';
import namespaceLifecycle from '../../../plugins/admission-namespace-lifecycle/index.js';
import serviceAccount from '../../../plugins/admission-service-account/index.js';

/** The cache and the live store as two maps, keyed "plural/namespace/name"; live reads are counted. */
class FakeApi {
  readonly cache = new Map<string, KubeObject>();
  readonly live = new Map<string, KubeObject>();
  liveReads = 0;

  put(where: 'cache' | 'live' | 'both', plural: string, namespace: string, obj: KubeObject): void {
    const key = `${plural}/${namespace}/${obj.metadata.name}`;
    if (where !== 'live') this.cache.set(key, obj);
    if (where !== 'cache') this.live.set(key, obj);
  }

  peekCached(_g: string, _v: string, plural: string, namespace: string, name: string) {
    return this.cache.get(`${plural}/${namespace}/${name}`);
  }

  peekListCached(_g: string, _v: string, plural: string, namespace: string) {
    return [...this.cache].filter(([k]) => k.startsWith(`${plural}/${namespace}/`)).map(([, o]) => o);
  }

  async getCached(_g: string, _v: string, plural: string, namespace: string, name: string) {
    this.liveReads++;
    const obj = this.live.get(`${plural}/${namespace}/${name}`);
    if (!obj) throw errors.notFound({ group: '', resource: plural }, name);
    return obj;
  }

  async listCached(_g: string, _v: string, plural: string, namespace: string) {
    this.liveReads++;
    return [...this.live].filter(([k]) => k.startsWith(`${plural}/${namespace}/`)).map(([, o]) => o);
  }
}

async function setUp<C>(manifest: PluginManifest<C>, config: C, fake: FakeApi): Promise<AdmissionPlugin> {
  let plugin: AdmissionPlugin | undefined;
  const ctx = {
    name: manifest.name,
    config,
    logger: pino({ level: 'silent' }),
    api: { cached: cachedObjectsOver(() => fake as unknown as CachedReads) },
    provide: {
      admission: (p: AdmissionPlugin) => {
        plugin = p;
      },
    },
  } as unknown as PluginContext<C>;
  await manifest.setup(ctx);
  return plugin!;
}

function create(resource: string, namespace: string, object: KubeObject): AdmissionAttributes {
  return {
    operation: 'CREATE',
    resource: { group: '', version: 'v1', resource },
    subresource: '',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    namespace,
    name: object.metadata.name ?? '',
    object,
    user: { name: 'bob', groups: [] },
    dryRun: false,
  };
}

const namespace = (name: string, phase = 'Active'): KubeObject => ({ metadata: { name }, status: { phase } });
const pod = (): KubeObject => ({ metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } });

async function refusal(answer: unknown): Promise<{ code: number; message: string }> {
  try {
    await answer;
  } catch (err) {
    if (isStatusError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('admitted');
}

describe('admission reads: the cache as it is, a live lookup when it has nothing', () => {
  describe('NamespaceLifecycle', () => {
    const config = { immortalNamespaces: ['default', 'kube-system', 'kube-public'] };

    it('answers from the cache at once, without a live read', async () => {
      const fake = new FakeApi();
      fake.put('both', 'namespaces', '', namespace('apps'));
      const nl = await setUp(namespaceLifecycle, config, fake);
      expect(nl.admit!(create('configmaps', 'apps', { metadata: { name: 'c' } }))).to.equal(undefined);
      expect(fake.liveReads).to.equal(0);
    });

    it('looks a namespace up when the cache does not have it yet, and refuses one that does not exist', async () => {
      const fake = new FakeApi();
      fake.put('live', 'namespaces', '', namespace('fresh'));
      const nl = await setUp(namespaceLifecycle, config, fake);
      await nl.admit!(create('configmaps', 'fresh', { metadata: { name: 'c' } }));
      expect(fake.liveReads).to.equal(1);
      expect(await refusal(nl.admit!(create('configmaps', 'nowhere', { metadata: { name: 'c' } })))).to.deep.equal({
        code: 404,
        message: 'namespaces "nowhere" not found',
      });
    });

    it('after a namespace DELETE, reads it for sure: a cache still showing it Active is not trusted', async () => {
      const fake = new FakeApi();
      fake.put('cache', 'namespaces', '', namespace('going', 'Active'));
      fake.put('live', 'namespaces', '', namespace('going', 'Terminating'));
      const nl = await setUp(namespaceLifecycle, config, fake);
      const del: AdmissionAttributes = {
        ...create('namespaces', '', namespace('going')),
        operation: 'DELETE',
        name: 'going',
      };
      expect(nl.admit!(del)).to.equal(undefined);
      expect(await refusal(nl.admit!(create('pods', 'going', pod())))).to.deep.equal({
        code: 403,
        message:
          'pods "web" is forbidden: unable to create new content in namespace going because it is being terminated',
      });
      expect(fake.liveReads).to.equal(1);
    });
  });

  describe('ServiceAccount', () => {
    it('mounts the token at once when the cache has the account, after a lookup when it does not', async () => {
      const fake = new FakeApi();
      fake.put('both', 'serviceaccounts', 'apps', { metadata: { name: 'default' } });
      fake.put('live', 'serviceaccounts', 'apps', { metadata: { name: 'builder' } });
      const sa = await setUp(serviceAccount, {}, fake);
      const cached = create('pods', 'apps', pod());
      expect(sa.admit!(cached)).to.equal(undefined);
      expect((cached.object!.spec as { volumes?: unknown[] }).volumes).to.have.length(1);
      expect(fake.liveReads).to.equal(0);

      const looked = create('pods', 'apps', pod());
      (looked.object!.spec as Record<string, unknown>).serviceAccountName = 'builder';
      await sa.admit!(looked);
      expect((looked.object!.spec as { volumes?: unknown[] }).volumes).to.have.length(1);
      expect(fake.liveReads).to.equal(1);
      expect((await refusal(sa.admit!(create('pods', 'empty', pod())))).code).to.equal(403);
    });
  });

  describe('LimitRanger', () => {
    it('defaults from the cached LimitRanges at once', async () => {
      const fake = new FakeApi();
      fake.put('both', 'limitranges', 'apps', {
        metadata: { name: 'lr', resourceVersion: '5' },
        spec: { limits: [{ type: 'Container', default: { cpu: '500m' } }] },
      });
      const lr = await setUp(limitRanger, {}, fake);
      const a = create('pods', 'apps', pod());
      expect(lr.admit!(a)).to.equal(undefined);
      expect(lr.validate!(a)).to.equal(undefined);
      const [container] = (a.object!.spec as { containers: { resources?: unknown }[] }).containers;
      expect(container!.resources).to.deep.equal({ limits: { cpu: '500m' } });
      expect(fake.liveReads).to.equal(0);
    });

    it('in a namespace without LimitRanges, looks once and then trusts the empty answer', async () => {
      const fake = new FakeApi();
      const lr = await setUp(limitRanger, {}, fake);
      await lr.admit!(create('pods', 'bare', pod()));
      for (let i = 0; i < 3; i++) {
        const a = create('pods', 'bare', pod());
        expect(lr.admit!(a)).to.equal(undefined);
        expect(lr.validate!(a)).to.equal(undefined);
      }
      expect(fake.liveReads).to.equal(1);
    });

    it('finds a LimitRange the cache does not have yet', async () => {
      const fake = new FakeApi();
      fake.put('live', 'limitranges', 'apps', {
        metadata: { name: 'lr', resourceVersion: '5' },
        spec: { limits: [{ type: 'Container', max: { cpu: '1' } }] },
      });
      const lr = await setUp(limitRanger, {}, fake);
      const a = create('pods', 'apps', pod());
      await lr.admit!(a);
      expect((await refusal(lr.validate!(a))).message).to.equal(
        'pods "web" is forbidden: maximum cpu usage per Container is 1.  No limit is specified',
      );
    });
  });
});
