/**
 * pods/log, exec, attach and portforward against a fake kubelet (HTTPS, self-signed, WebSocket):
 * the kubelet paths and queries the API server builds from the API's, the container chosen or
 * refused as upstream, the pod's state checked, and upgrades carried to the kubelet.
 */
import { expect } from 'chai';
import WebSocket, { WebSocketServer } from 'ws';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import {
  type Backend,
  cleanup,
  createNode,
  createPod,
  podAddress,
  selfSigned,
  startBackend,
  stopBackend,
} from './helpers.js';

describe('api-proxy: pods/log, exec, attach, portforward to the kubelet', function () {
  this.timeout(30_000);
  let ts: TestServer;
  let kubelet: Backend;
  let wss: WebSocketServer;
  const dirs: string[] = [];

  before(async () => {
    ts = await startTestServer({ plugins: { 'api-proxy': {} } });
    const tls = selfSigned();
    dirs.push(tls.dir);
    kubelet = await startBackend(
      '127.0.0.1',
      (req, res) => {
        if (req.url?.includes('previous=true')) {
          return void res.writeHead(400).end('previous terminated container "web" in pod "one" not found');
        }
        res.end(`log of ${req.url}`);
      },
      tls,
    );
    wss = new WebSocketServer({ server: kubelet.server });
    wss.on('connection', (socket, req) => socket.send(`kubelet ${req.url} ${req.headers['sec-websocket-protocol']}`));
    await createNode(ts, 'n1', kubelet.port);
    await createPod(ts, 'one', podAddress(20), { node: 'n1' });
    await createPod(ts, 'two', podAddress(21), { node: 'n1', containers: ['a', 'b'] });
    await createPod(ts, 'done', podAddress(22), { node: 'n1', phase: 'Succeeded' });
    await createPod(ts, 'pending', podAddress(23), {});
  });

  after(async () => {
    wss?.close();
    await stopBackend(kubelet);
    await ts?.close();
    cleanup(dirs);
  });

  const text = async (path: string) => {
    const r = await fetch(ts.url + path);
    return { status: r.status, text: await r.text() };
  };

  it("maps pods/log and its options onto the kubelet's /containerLogs", async () => {
    const q = 'follow=true&previous=false&tailLines=3&sinceSeconds=5&timestamps=true&limitBytes=100&unknown=x';
    const r = await text(`/api/v1/namespaces/default/pods/one/log?${q}`);
    expect(r.status).to.equal(200);
    expect(r.text).to.equal(
      'log of /containerLogs/default/one/web?follow=true&previous=false&tailLines=3&sinceSeconds=5&timestamps=true&limitBytes=100',
    );
    expect(kubelet.seen.at(-1)!.peerCN).to.equal('kube-apiserver-kubelet-client');
    const since = await text('/api/v1/namespaces/default/pods/two/log?container=b&sinceTime=2026-01-01T00:00:00Z');
    expect(since.text).to.equal('log of /containerLogs/default/two/b?sinceTime=2026-01-01T00%3A00%3A00Z');
  });

  it("answers the kubelet's refusal as a Status, as upstream's response checker (kubectl prints its text)", async () => {
    const r = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/one/log?previous=true');
    expect(r.status).to.equal(400);
    expect(r.body).to.include({ kind: 'Status', reason: 'BadRequest' });
    expect(r.body.message).to.equal('previous terminated container "web" in pod "one" not found');
  });

  it('asks for a container when the pod has several, and refuses one it does not have (400, as upstream)', async () => {
    const r = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/two/log');
    expect(r.status).to.equal(400);
    expect(r.body.message).to.equal('a container name must be specified for pod two, choose one of: [a b]');
    const wrong = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/one/log?container=zz');
    expect(wrong.body.message).to.equal('container zz is not valid for pod one');
  });

  it('answers an empty log for a pod on no node yet', async () => {
    expect(await text('/api/v1/namespaces/default/pods/pending/log')).to.deep.equal({ status: 200, text: '' });
  });

  it('needs an upgrade for exec, attach and portforward (400 "Upgrade request required")', async () => {
    for (const sub of ['exec?command=ls', 'attach', 'portforward?ports=80']) {
      const r = await api(ts.url, 'POST', `/api/v1/namespaces/default/pods/one/${sub}`);
      expect(r.status, sub).to.equal(400);
      expect(r.body.message).to.equal('Upgrade request required');
    }
  });

  it('refuses exec into a completed pod and into a pod on no node', async () => {
    const done = await upgrade('/api/v1/namespaces/default/pods/done/exec?command=ls&stdout=true');
    expect(done.error).to.match(/400/);
    const pending = await upgrade('/api/v1/namespaces/default/pods/pending/exec?command=ls&stdout=true');
    expect(pending.error).to.match(/400/);
  });

  it('carries exec, attach and portforward upgrades to the kubelet paths, subprotocol and all', async () => {
    const exec = await upgrade(
      '/api/v1/namespaces/default/pods/one/exec?command=sh&command=-c&command=echo%20hi&stdout=true&stderr=true',
    );
    expect(exec.message).to.equal(
      'kubelet /exec/default/one/web?command=sh&command=-c&command=echo+hi&stdout=true&stderr=true v5.channel.k8s.io',
    );
    const attach = await upgrade('/api/v1/namespaces/default/pods/two/attach?container=a&stdin=true&tty=true');
    expect(attach.message).to.equal('kubelet /attach/default/two/a?stdin=true&tty=true v5.channel.k8s.io');
    const pf = await upgrade('/api/v1/namespaces/default/pods/one/portforward?ports=8080&ports=9090');
    expect(pf.message).to.equal('kubelet /portForward/default/one?port=8080&port=9090 v5.channel.k8s.io');
  });

  /** A WebSocket with kubectl's subprotocol: the first message, or the refusal. */
  function upgrade(path: string): Promise<{ message?: string; error?: string }> {
    return new Promise((resolve) => {
      const client = new WebSocket(ts.url.replace('http', 'ws') + path, ['v5.channel.k8s.io']);
      client.on('message', (m) => {
        resolve({ message: String(m) });
        client.close();
      });
      client.on('error', (err) => resolve({ error: err.message }));
    });
  }
});
