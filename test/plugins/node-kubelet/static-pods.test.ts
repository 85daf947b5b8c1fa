/**
 * Static pods (seed 3.4.2: pods from a manifest directory and from a URL, not from the API): the
 * kubelet runs them, names them <name>-<node>, and keeps a mirror pod in the API that shows their
 * real status; a deleted mirror pod is made again; a manifest removed stops its pod.
 */
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { manifestDocuments } from '../../../plugins/node-kubelet/sources/manifests.js';
import { toStaticPod } from '../../../plugins/node-kubelet/sources/static-pods.js';
import {
  condition,
  getPod,
  httpText,
  isRoot,
  type KubeletHarness,
  NODES,
  PODS,
  rootReason,
  startHarness,
  waitFor,
} from './helpers.js';

const SERVER =
  "process.on('SIGTERM',()=>process.exit(0));require('http').createServer((q,s)=>s.end(process.env.WHO)).listen(8080)";

function manifest(name: string, who: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: main
      image: node
      command: [node, -e, "${SERVER}"]
      env: [{name: WHO, value: ${who}}]
`;
}

const gone = (h: KubeletHarness, name: string) =>
  waitFor(
    `${name} gone`,
    () => h.admin.list(PODS, 'default'),
    (l) => !l.items.some((p) => p.metadata.name === name),
  );

describe('node-kubelet: static pods and their mirror pods', function () {
  this.timeout(60_000);
  let h: KubeletHarness;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-manifests-'));
  let served = manifest('from-url', 'url');
  let web: Server;

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    web = createServer((_req, res) => res.end(served)).listen(0, '127.0.0.1');
    await new Promise((r) => web.once('listening', r));
    writeFileSync(join(dir, 'web.yaml'), `${manifest('web', 'file')}---\n${manifest('db', 'second-doc')}`);
    h = await startHarness();
    await h.kubelet('n1', {
      staticPodPath: dir,
      fileCheckFrequency: 1,
      staticPodURL: `http://127.0.0.1:${(web.address() as AddressInfo).port}/pods.yaml`,
      httpCheckFrequency: 1,
    });
  });

  after(async () => {
    await h?.close();
    web?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the pods of a manifest file (two YAML documents) under <name>-<node>, with a mirror pod each', async () => {
    const node = await h.admin.get(NODES, '', 'n1');
    for (const [name, who] of [
      ['web-n1', 'file'],
      ['db-n1', 'second-doc'],
    ]) {
      const mirror = await waitFor(
        `${name} mirror ready`,
        () => getPod(h, name),
        (p) => condition(p, 'Ready') === 'True',
      );
      const annotations = mirror.metadata!.annotations!;
      expect(annotations['kubernetes.io/config.source']).to.equal('file');
      expect(annotations['kubernetes.io/config.mirror'])
        .to.equal(annotations['kubernetes.io/config.hash'])
        .and.match(/^[0-9a-f]{32}$/);
      expect(mirror.metadata!.ownerReferences).to.deep.equal([
        { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: node.metadata.uid, controller: true },
      ]);
      expect(mirror.spec!.nodeName).to.equal('n1');
      expect(mirror.status!.phase).to.equal('Running');
      expect(await httpText(`http://${mirror.status!.podIP}:8080/`)).to.equal(who);
    }
  });

  it('runs the pods a manifest URL serves', async () => {
    const mirror = await waitFor(
      'from-url-n1 ready',
      () => getPod(h, 'from-url-n1'),
      (p) => condition(p, 'Ready') === 'True',
    );
    expect(mirror.metadata!.annotations!['kubernetes.io/config.source']).to.equal('http');
    expect(await httpText(`http://${mirror.status!.podIP}:8080/`)).to.equal('url');
  });

  it('makes a deleted mirror pod again; the static pod itself keeps running', async () => {
    const before = await getPod(h, 'web-n1');
    await h.admin.delete(PODS, 'default', 'web-n1');
    const after = await waitFor(
      'a new mirror pod',
      () => getPod(h, 'web-n1'),
      (p) =>
        p.metadata!.uid !== before.metadata!.uid && !p.metadata!.deletionTimestamp && condition(p, 'Ready') === 'True',
    );
    const id = (p: Pod) => p.status!.containerStatuses![0]!.containerID;
    expect(id(after)).to.equal(id(before));
  });

  it('deletes a mirror pod whose static pod it does not have (its manifest went while it was down)', async () => {
    const orphan = {
      metadata: { name: 'gone-n1', annotations: { 'kubernetes.io/config.mirror': 'abc' } },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'node' }] },
    };
    await h.admin.create(PODS, 'default', orphan as never);
    await gone(h, 'gone-n1');
  });

  it('stops the pod and deletes its mirror when the manifest is removed (and when the URL stops serving it)', async () => {
    const ip = (await getPod(h, 'web-n1')).status!.podIP;
    unlinkSync(join(dir, 'web.yaml'));
    await gone(h, 'web-n1');
    await gone(h, 'db-n1');
    await waitFor(
      'web-n1 stopped',
      () =>
        fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(300) }).then(
          () => false,
          () => true,
        ),
      (v) => v,
    );
    served = '';
    await gone(h, 'from-url-n1');
  });
});

describe('node-kubelet: static pod manifests (pure)', () => {
  it('reads YAML and JSON, several documents and Lists', () => {
    expect(manifestDocuments('{"kind":"Pod","metadata":{"name":"a"}}')).to.have.length(1);
    expect(manifestDocuments('kind: Pod\n---\nkind: Pod\n---\n')).to.have.length(2);
    expect(manifestDocuments('kind: List\nitems: [{kind: Pod}, {kind: Pod}]')).to.have.length(2);
  });

  it("names, binds and hashes a static pod as upstream's config sources do", () => {
    const raw = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web' },
      spec: { containers: [{ name: 'c', image: 'node' }] },
    };
    const a = toStaticPod(raw, 'node-1', 'file', '/etc/manifests/web.yaml#0');
    const again = toStaticPod(raw, 'node-1', 'file', '/etc/manifests/web.yaml#0');
    const elsewhere = toStaticPod(raw, 'node-2', 'file', '/etc/manifests/web.yaml#0');
    expect(a.metadata).to.include({ name: 'web-node-1', namespace: 'default' });
    expect(a.metadata!.uid).to.equal(again.metadata!.uid).and.not.equal(elsewhere.metadata!.uid);
    expect(a.spec).to.include({ nodeName: 'node-1', restartPolicy: 'Always' });
    expect(a.spec!.tolerations).to.deep.include({ operator: 'Exists', effect: 'NoExecute' });
    expect(() => toStaticPod({ kind: 'Service', metadata: { name: 'x' } }, 'n', 'file', 'f')).to.throw(/not a v1 Pod/);
    expect(() => toStaticPod({ kind: 'Pod', metadata: {}, spec: { containers: [{}] } }, 'n', 'file', 'f')).to.throw(
      /name/,
    );
  });
});
