/**
 * kubectl 1.32 beyond get/create/apply: edit (with a scripted editor), patch in all three types,
 * label, annotate, wait --for=delete, describe. Against a real server on loopback.
 */
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { type KubectlResult, kubectl, kubectlArgs, kubectlPath } from '../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/temp-dirs.js';

const dir = tempDir('skiff-kubectl-more-');
const podYaml = (name: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels: {app: web}\nspec:\n  containers:\n  - name: web\n    image: nginx:1\n    env:\n    - {name: MODE, value: a}\n  - name: side\n    image: busybox:1\n`;

describe('e2e: kubectl edit, patch, label, annotate, wait, describe', function () {
  this.timeout(120_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  const run = (args: string[], input?: string) => kubectl(ts.url, args, input);
  async function ok(args: string[], input?: string): Promise<string> {
    const r = await run(args, input);
    expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }
  const getPod = async (name: string) => (await api(ts.url, 'GET', `/api/v1/namespaces/default/pods/${name}`)).body;

  it('edit with a scripted editor changes the object', async () => {
    await ok(['create', '-f', '-'], podYaml('edited'));
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/app: web/app: edited/" "$1"\n');
    chmodSync(editor, 0o755);
    const r = await new Promise<KubectlResult>((resolve) => {
      execFile(
        kubectlPath!,
        kubectlArgs(ts.url, ['edit', 'pod', 'edited']),
        { env: { ...process.env, KUBECONFIG: '/dev/null', HOME: dir, KUBE_EDITOR: editor }, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('pod/edited edited');
    expect((await getPod('edited')).metadata.labels).to.deep.equal({ app: 'edited' });
  });

  it('patch: strategic merges containers by name, merge and json patches, a failing test op', async () => {
    await ok(['create', '-f', '-'], podYaml('patched'));
    await ok(['patch', 'pod', 'patched', '-p', '{"spec":{"containers":[{"name":"web","image":"nginx:2"}]}}']);
    let pod = await getPod('patched');
    expect(pod.spec.containers.map((c: { image: string }) => c.image)).to.deep.equal(['nginx:2', 'busybox:1']);
    expect(pod.spec.containers[0].env).to.deep.equal([{ name: 'MODE', value: 'a' }]);
    await ok(['patch', 'pod', 'patched', '--type=merge', '-p', '{"metadata":{"labels":{"tier":"front"}}}']);
    await ok([
      'patch',
      'pod',
      'patched',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/containers/1/image","value":"busybox:2"}]',
    ]);
    pod = await getPod('patched');
    expect(pod.metadata.labels).to.deep.equal({ app: 'web', tier: 'front' });
    expect(pod.spec.containers[1].image).to.equal('busybox:2');
    const failed = await run([
      'patch',
      'pod',
      'patched',
      '--type=json',
      '-p',
      '[{"op":"test","path":"/metadata/name","value":"other"}]',
    ]);
    expect(failed.code).to.not.equal(0);
    // Upstream's 422 with the reason as its cause, which kubectl prints.
    expect(failed.stderr).to.contain('The request is invalid: patch: testing value /metadata/name failed: test failed');
  });

  it('label and annotate: add, refuse to overwrite without --overwrite, overwrite, remove', async () => {
    await ok(['create', '-f', '-'], podYaml('labelled'));
    await ok(['label', 'pod', 'labelled', 'env=dev']);
    const refused = await run(['label', 'pod', 'labelled', 'env=prod']);
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.contain("'env' already has a value (dev), and --overwrite is false");
    await ok(['label', 'pod', 'labelled', 'env=prod', '--overwrite']);
    await ok(['label', 'pod', 'labelled', 'app-']);
    await ok(['annotate', 'pod', 'labelled', 'owner=team-a']);
    await ok(['annotate', 'pod', 'labelled', 'owner=team-b', '--overwrite']);
    const pod = await getPod('labelled');
    expect(pod.metadata.labels).to.deep.equal({ env: 'prod' });
    expect(pod.metadata.annotations.owner).to.equal('team-b');
    await ok(['annotate', 'pod', 'labelled', 'owner-']);
    expect((await getPod('labelled')).metadata.annotations?.owner).to.equal(undefined);
  });

  it('wait --for=delete returns when the object goes, and at once when it is already gone', async () => {
    await ok(['create', '-f', '-'], podYaml('doomed'));
    const waiting = run(['wait', '--for=delete', 'pod/doomed', '--timeout=30s']);
    await new Promise((r) => setTimeout(r, 500));
    await ok(['delete', 'pod', 'doomed']);
    const r = await waiting;
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('pod/doomed condition met');
    const gone = await run(['wait', '--for=delete', 'pod/never-there', '--timeout=5s']);
    expect(gone.code, gone.stderr).to.equal(0);
  });

  it('describe pod, service, replicationcontroller and namespace print their sections', async () => {
    await ok(['create', '-f', '-'], podYaml('described'));
    const pod = await ok(['describe', 'pod', 'described']);
    for (const line of ['Name:', 'Namespace:', 'Labels:', 'Containers:', 'web:', 'Image:', 'nginx:1', 'Events:']) {
      expect(pod).to.contain(line);
    }
    await ok(['create', 'service', 'clusterip', 'front', '--tcp=80:8080']);
    expect(await ok(['describe', 'service', 'front']))
      .to.match(/IP:\s+127\.96\./)
      .and.contain('Port:');
    const rc =
      'apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc1}\nspec:\n  replicas: 2\n  selector: {app: rc1}\n  template:\n    metadata: {labels: {app: rc1}}\n    spec: {containers: [{name: c, image: busybox}]}\n';
    await ok(['create', '-f', '-'], rc);
    expect(await ok(['describe', 'rc', 'rc1'])).to.match(/Replicas:\s+\d+ current \/ 2 desired/);
    expect(await ok(['describe', 'namespace', 'default'])).to.match(/Status:\s+Active/);
  });

  it('get prints upstream columns for events, quotas, limit ranges, PVs, PVCs and leases', async () => {
    const manifests = [
      'apiVersion: v1\nkind: Event\nmetadata: {name: ev1}\ninvolvedObject: {kind: Pod, name: web, namespace: default}\nreason: Pulled\ntype: Normal\nmessage: image pulled\ncount: 3\nsource: {component: kubelet, host: node-1}\n',
      'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q1}\nspec: {hard: {pods: "10", limits.cpu: "4", requests.cpu: "2"}}\n',
      'apiVersion: v1\nkind: LimitRange\nmetadata: {name: lr1}\nspec: {limits: [{type: Container, default: {cpu: 500m}}]}\n',
      'apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv1}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], persistentVolumeReclaimPolicy: Retain, hostPath: {path: /tmp/pv1}}\n',
      'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: pvc1}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n',
      'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: l1}\nspec: {holderIdentity: node-1, leaseDurationSeconds: 40}\n',
    ];
    for (const m of manifests) await ok(['create', '-f', '-', '--validate=false'], m);
    const headers: [string[], RegExp][] = [
      [['get', 'events'], /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/m],
      [
        ['get', 'events', '-o', 'wide'],
        /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+SUBOBJECT\s+SOURCE\s+MESSAGE\s+FIRST SEEN\s+COUNT\s+NAME$/m,
      ],
      [['get', 'quota'], /^NAME\s+AGE\s+REQUEST\s+LIMIT$/m],
      [['get', 'limits'], /^NAME\s+CREATED AT$/m],
      [
        ['get', 'pv'],
        /^NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE$/m,
      ],
      [
        ['get', 'pvc'],
        /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE$/m,
      ],
      [['get', 'leases'], /^NAME\s+HOLDER\s+AGE$/m],
    ];
    for (const [args, header] of headers) expect(await ok(args), args.join(' ')).to.match(header);
    expect(await ok(['get', 'events'])).to.match(/Normal\s+Pulled\s+pod\/web\s+image pulled/);
    expect(await ok(['get', 'quota'])).to.match(/q1\s+\S+\s+pods: 0\/10, requests\.cpu: 0\/2\s+limits\.cpu: 0\/4/);
    expect(await ok(['get', 'pv'])).to.match(/pv1\s+1Gi\s+RWO\s+Retain/);
    expect(await ok(['get', 'leases'])).to.match(/l1\s+node-1\s+/);
  });
});
