/**
 * Chapter: lost updates through PATCH (a resourceVersion the server ignored).
 *
 * The attack, or the accident an attacker waits for: a client reads an object, decides on a change
 * and sends it as a patch that carries the resourceVersion it read, trusting the server to refuse it
 * if the object moved on meanwhile. `kubectl annotate|label --resource-version=N` does exactly this,
 * and so do controllers that use an annotation as a lock ("whoever patches version N first owns
 * it"). A server that applies the patch regardless lets a stale writer overwrite a newer state
 * without noticing, and lets fifty racing writers all believe they won the same lock.
 *
 * The upstream defence (k8s.io/apiserver handlers/patch.go and registry Store.Update): the patch is
 * applied to the current object, and the resourceVersion of the patched object is the precondition
 * of the guarded update. A patch that sets it (merge, strategic merge, a JSON patch `replace` or `add`
 * of /metadata/resourceVersion, a server-side apply configuration) to anything but the current
 * value is a 409 Conflict, "the object has been modified; please apply your changes to the latest
 * version and try again", and is not retried; a patch that leaves it alone carries the current one
 * and, when another write lands between read and write, is applied again to the newer object.
 * The same holds for subresources (pods/status, replicationcontrollers/scale). "" and "0" mean no
 * precondition, as upstream's.
 *
 * Where Skiff implements it: core/api/store/generic-store.ts (updateWith: the mutated object's
 * resourceVersion is the precondition) and core/api/api-service.ts (patchSubresource).
 */
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../helpers/skip.js';

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const MERGE = 'application/merge-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';
const APPLY = 'application/apply-patch+yaml';
const MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

describe('security: a resourceVersion in a patch is a precondition', function () {
  this.timeout(60_000);
  let ts: TestServer;
  let made = 0;

  before(async () => {
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  const patch = (path: string, type: string, body: unknown) =>
    api(ts.url, 'PATCH', path, typeof body === 'string' ? body : JSON.stringify(body), { 'Content-Type': type });

  /** A fresh ConfigMap, changed once so that its first resourceVersion is stale. */
  async function staleConfigMap(): Promise<{ name: string; stale: string; current: string }> {
    const name = `cm-${made++}`;
    const created = await api(ts.url, 'POST', CONFIGMAPS, { metadata: { name }, data: { v: 'original' } });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const changed = await patch(`${CONFIGMAPS}/${name}`, MERGE, { data: { v: 'newer' } });
    expect(changed.status).to.equal(200);
    return { name, stale: created.body.metadata.resourceVersion, current: changed.body.metadata.resourceVersion };
  }

  function expectConflict(r: Awaited<ReturnType<typeof api>>, name: string, resource = 'configmaps'): void {
    expect(r.status, JSON.stringify(r.body)).to.equal(409);
    expect(r.body).to.deep.include({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
      message: `Operation cannot be fulfilled on ${resource} "${name}": ${MODIFIED}`,
    });
    expect(r.body.details).to.include({ name, kind: resource });
  }

  async function dataOf(name: string): Promise<unknown> {
    return (await api(ts.url, 'GET', `${CONFIGMAPS}/${name}`)).body.data;
  }

  it('kubectl annotate --resource-version=<stale> is refused with Conflict, and nothing is written', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const { name, stale, current } = await staleConfigMap();
    const refused = await kubectl(ts.url, [
      'annotate',
      'configmap',
      name,
      'owner=attacker',
      `--resource-version=${stale}`,
    ]);
    expect(refused.code, refused.stdout).to.equal(1);
    expect(refused.stderr).to.equal(
      `Error from server (Conflict): Operation cannot be fulfilled on configmaps "${name}": ${MODIFIED}\n`,
    );
    const after = await api(ts.url, 'GET', `${CONFIGMAPS}/${name}`);
    expect(after.body.metadata.annotations).to.equal(undefined);
    expect(after.body.metadata.resourceVersion).to.equal(current);
    // With the current resourceVersion the same command works.
    const allowed = await kubectl(ts.url, ['annotate', 'configmap', name, 'owner=me', `--resource-version=${current}`]);
    expect(allowed.code, allowed.stderr).to.equal(0);
  });

  it('a stale resourceVersion in a merge, strategic merge, JSON patch (replace or add) or apply → 409, the object unchanged', async () => {
    const attempts: [string, string, (stale: string) => unknown][] = [
      ['merge', MERGE, (rv) => ({ metadata: { resourceVersion: rv }, data: { v: 'stale write' } })],
      ['strategic', STRATEGIC, (rv) => ({ metadata: { resourceVersion: rv }, data: { v: 'stale write' } })],
      [
        'json replace',
        JSON_PATCH,
        (rv) => [
          { op: 'replace', path: '/metadata/resourceVersion', value: rv },
          { op: 'replace', path: '/data/v', value: 'stale write' },
        ],
      ],
      [
        'json add',
        JSON_PATCH,
        (rv) => [
          { op: 'add', path: '/metadata/resourceVersion', value: rv },
          { op: 'add', path: '/data/v', value: 'stale write' },
        ],
      ],
      [
        'apply',
        APPLY,
        (rv) => ({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { resourceVersion: rv },
          data: { v: 'stale write' },
        }),
      ],
    ];
    for (const [what, type, body] of attempts) {
      const { name, stale } = await staleConfigMap();
      const query = type === APPLY ? '?fieldManager=stale-writer&force=true' : '';
      expectConflict(await patch(`${CONFIGMAPS}/${name}${query}`, type, body(stale)), name);
      expect(await dataOf(name), what).to.deep.equal({ v: 'newer' });
    }
  });

  it('50 racing patches that all carry the same resourceVersion: exactly one wins (200), 49 get 409', async () => {
    for (const [what, type] of [
      ['merge', MERGE],
      ['strategic', STRATEGIC],
      ['json', JSON_PATCH],
      ['apply', APPLY],
    ]) {
      const { name, current } = await staleConfigMap();
      const query = type === APPLY ? '?fieldManager=racer&force=true' : '';
      const bodyFor = (i: number) =>
        type === JSON_PATCH
          ? [
              { op: 'replace', path: '/metadata/resourceVersion', value: current },
              { op: 'replace', path: '/data/v', value: `writer ${i}` },
            ]
          : type === APPLY
            ? {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { resourceVersion: current },
                data: { v: `writer ${i}` },
              }
            : { metadata: { resourceVersion: current }, data: { v: `writer ${i}` } };
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => patch(`${CONFIGMAPS}/${name}${query}`, type, bodyFor(i))),
      );
      const codes = answers.map((a) => a.status);
      expect(
        codes.filter((c) => c === 200),
        what!,
      ).to.have.length(1);
      expect(
        codes.filter((c) => c === 409),
        what!,
      ).to.have.length(49);
      for (const a of answers) if (a.status === 409) expectConflict(a, name);
      const winner = answers.find((a) => a.status === 200)!;
      expect(await dataOf(name), what!).to.deep.equal(winner.body.data);
    }
  });

  it('patches without a resourceVersion are not refused by a race: 50 concurrent ones to different keys all land', async () => {
    const { name } = await staleConfigMap();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => patch(`${CONFIGMAPS}/${name}`, MERGE, { data: { [`k${i}`]: `${i}` } })),
    );
    expect(answers.map((a) => a.status)).to.deep.equal(Array(50).fill(200));
    expect(Object.keys((await dataOf(name)) as object)).to.have.length(51);
  });

  it('"0" or null as the resourceVersion of a patch means no precondition, as upstream', async () => {
    const { name } = await staleConfigMap();
    const zero = await patch(`${CONFIGMAPS}/${name}`, MERGE, { metadata: { resourceVersion: '0' }, data: { v: 'a' } });
    expect(zero.status, JSON.stringify(zero.body)).to.equal(200);
    const none = await patch(`${CONFIGMAPS}/${name}`, MERGE, { metadata: { resourceVersion: null }, data: { v: 'b' } });
    expect(none.status, JSON.stringify(none.body)).to.equal(200);
    expect(await dataOf(name)).to.deep.equal({ v: 'b' });
  });

  it('a server-side apply that creates the object ignores a resourceVersion, as upstream (nothing to compare it with)', async () => {
    const config = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'fresh', resourceVersion: '7' },
      data: { v: '1' },
    };
    const r = await patch(`${CONFIGMAPS}/fresh?fieldManager=creator`, APPLY, config);
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    expect(r.body.metadata.resourceVersion).to.not.equal('7');
  });

  it('subresources too: a stale resourceVersion in a pods/status or replicationcontrollers/scale patch → 409', async () => {
    const pods = '/api/v1/namespaces/default/pods';
    const pod = await api(ts.url, 'POST', pods, {
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    expect(pod.status).to.equal(201);
    const stalePod = pod.body.metadata.resourceVersion;
    expect((await patch(`${pods}/p/status`, MERGE, { status: { message: 'first' } })).status).to.equal(200);
    const status = await patch(`${pods}/p/status`, MERGE, {
      metadata: { resourceVersion: stalePod },
      status: { message: 'stale' },
    });
    expectConflict(status, 'p', 'pods');

    const rcs = '/api/v1/namespaces/default/replicationcontrollers';
    const template = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    const rc = await api(ts.url, 'POST', rcs, {
      metadata: { name: 'rc' },
      spec: { replicas: 1, selector: { a: 'b' }, template },
    });
    expect(rc.status).to.equal(201);
    const staleRc = rc.body.metadata.resourceVersion;
    expect((await patch(`${rcs}/rc/scale`, MERGE, { spec: { replicas: 2 } })).status).to.equal(200);
    for (const [type, body] of [
      [MERGE, { metadata: { resourceVersion: staleRc }, spec: { replicas: 9 } }],
      [
        JSON_PATCH,
        [
          { op: 'replace', path: '/metadata/resourceVersion', value: staleRc },
          { op: 'replace', path: '/spec/replicas', value: 9 },
        ],
      ],
    ] as const) {
      expectConflict(await patch(`${rcs}/rc/scale`, type, body), 'rc', 'replicationcontrollers');
    }
    expect((await api(ts.url, 'GET', `${rcs}/rc`)).body.spec.replicas).to.equal(2);
  });
});
