/**
 * The seed's steps 3 and 4 (volumes and the secrets they need), read by the pod's own process at
 * their mountPath: configMap (items, modes), secret, downwardAPI, emptyDir (medium Memory a tmpfs),
 * projected; a missing ConfigMap blocks the pod with upstream's FailedMount until it exists.
 */
import { expect } from 'chai';
import type { KubeObject } from 'skiff/sdk';
import { CORE_V1 } from 'skiff/sdk/client';
import {
  condition,
  eventsOf,
  getPod,
  httpText,
  isRoot,
  type KubeletHarness,
  PODS,
  reasons,
  rootReason,
  startHarness,
  waitFor,
} from './helpers.js';

/** Serves, as JSON, each requested file's text and mode, and whether /scratch is a tmpfs. */
const READER = [
  'node',
  '-e',
  `process.on('SIGTERM',()=>process.exit(0));const fs=require('fs');
require('http').createServer((q,s)=>{const p=decodeURIComponent(q.url.slice(1));
try{const st=fs.statSync(p);s.end(JSON.stringify({text:fs.readFileSync(p,'utf8'),mode:(st.mode&0o777).toString(8)}))}
catch(e){s.statusCode=404;s.end(e.message)}}).listen(8080)`,
];

describe('node-kubelet: volumes at their mountPath', function () {
  this.timeout(60_000);
  let h: KubeletHarness;

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    h = await startHarness();
    await h.kubelet('n1');
  });

  after(async () => h?.close());

  it('mounts configMap, secret, downwardAPI, emptyDir and projected volumes the process reads', async () => {
    await h.admin.create(CORE_V1('configmaps'), 'default', {
      metadata: { name: 'site' },
      data: { 'index.html': '<h1>hi</h1>', other: 'x' },
    });
    await h.admin.create(CORE_V1('secrets'), 'default', {
      metadata: { name: 'tls' },
      stringData: { 'tls.key': 'KEY' },
    } as KubeObject);
    await h.admin.create(PODS, 'default', {
      metadata: { name: 'reader', labels: { app: 'reader', tier: 'web' } },
      spec: {
        nodeName: 'n1',
        terminationGracePeriodSeconds: 2,
        volumes: [
          {
            name: 'site',
            configMap: { name: 'site', items: [{ key: 'index.html', path: 'html/index.html', mode: 0o600 }] },
          },
          { name: 'tls', secret: { secretName: 'tls', defaultMode: 0o400 } },
          {
            name: 'info',
            downwardAPI: {
              items: [
                { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
                { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
              ],
            },
          },
          { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
          {
            name: 'all',
            projected: {
              sources: [
                { configMap: { name: 'site', items: [{ key: 'other', path: 'other' }] } },
                { secret: { name: 'tls' } },
                { downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
              ],
            },
          },
        ],
        containers: [
          {
            name: 'main',
            image: 'node',
            command: READER,
            volumeMounts: [
              { name: 'site', mountPath: '/srv/site', readOnly: true },
              { name: 'tls', mountPath: '/etc/tls', readOnly: true },
              { name: 'info', mountPath: '/etc/podinfo' },
              { name: 'scratch', mountPath: '/scratch' },
              { name: 'all', mountPath: '/etc/all' },
            ],
          },
        ],
      },
    } as KubeObject);
    const pod = await waitFor(
      'reader running',
      () => getPod(h, 'reader'),
      (p) => condition(p, 'Ready') === 'True',
    );
    const read = async (path: string) =>
      JSON.parse(await httpText(`http://${pod.status!.podIP}:8080/${encodeURIComponent(path)}`)) as {
        text: string;
        mode: string;
      };
    expect(await read('/srv/site/html/index.html')).to.deep.equal({ text: '<h1>hi</h1>', mode: '600' });
    expect(await read('/etc/tls/tls.key')).to.deep.equal({ text: 'KEY', mode: '400' });
    expect((await read('/etc/podinfo/labels')).text).to.equal('app="reader"\ntier="web"');
    expect((await read('/etc/podinfo/name')).text).to.equal('reader');
    expect(await read('/etc/all/other')).to.deep.equal({ text: 'x', mode: '644' });
    expect((await read('/etc/all/tls.key')).text).to.equal('KEY');
    expect((await read('/etc/all/ns')).text).to.equal('default');
    const mounts = (await read('/proc/self/mounts')).text;
    expect(
      mounts.split('\n').some((l) => / \/scratch tmpfs /.test(l)),
      'emptyDir medium Memory is a tmpfs',
    ).to.equal(true);
  });

  it('holds a pod whose ConfigMap is missing (FailedMount), and starts it once the ConfigMap exists', async () => {
    await h.admin.create(PODS, 'default', {
      metadata: { name: 'waits' },
      spec: {
        nodeName: 'n1',
        terminationGracePeriodSeconds: 2,
        volumes: [{ name: 'cfg', configMap: { name: 'missing' } }],
        containers: [
          { name: 'main', image: 'node', command: READER, volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }] },
        ],
      },
    } as KubeObject);
    const events = await waitFor(
      'FailedMount',
      () => eventsOf(h, 'waits'),
      (e) => e.some((x) => x.reason === 'FailedMount'),
    );
    expect(reasons(events)).to.include(
      'FailedMount: MountVolume.SetUp failed for volume "cfg" : configmap "missing" not found',
    );
    const pending = await getPod(h, 'waits');
    expect(pending.status!.phase).to.equal('Pending');
    expect(pending.status!.containerStatuses![0]!.state!.waiting!.reason).to.equal('ContainerCreating');
    await h.admin.create(CORE_V1('configmaps'), 'default', { metadata: { name: 'missing' }, data: { a: '1' } });
    const pod = await waitFor(
      'waits running',
      () => getPod(h, 'waits'),
      (p) => condition(p, 'Ready') === 'True',
    );
    expect(JSON.parse(await httpText(`http://${pod.status!.podIP}:8080/%2Fcfg%2Fa`)).text).to.equal('1');
  });
});
