/**
 * The `connect` of a SubresourceDefinition (upstream's Connecter) and HTTP upgrades: a plugin's
 * connect subresource gets the authorized request raw (ordinary or upgrade), upgrade requests take
 * the same authentication and authorization as any other, and an upgrade nobody takes over is
 * answered like any request and its connection then closed.
 */
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import { httpsRequest, type Scratch, scratchDir } from '../helpers/security.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const ECHO = new URL('../fixtures/plugins/connect-echo', import.meta.url).pathname;

/** Sends a raw request; resolves with everything read until `until` matches or the server closes. */
function exchange(
  port: number,
  head: string,
  until?: RegExp,
  send?: string,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, 3000);
    socket.on('data', (d) => {
      text += d;
      if (send && text.includes('\r\n\r\n') && text.startsWith('HTTP/1.1 101')) {
        socket.write(send);
        send = undefined;
      }
      if (until?.test(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, closed: false });
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', reject);
    socket.write(head);
  });
}

const upgradeHead = (path: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n${extra}\r\n`;

describe('core: connect subresources and upgrade requests', function () {
  this.timeout(30_000);
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ plugins: { 'connect-echo': { path: ECHO } } });
  });
  after(() => ts?.close());

  it('hands an authorized request to the connect handler, raw path and Warning included', async () => {
    const r = await api(ts.url, 'GET', '/api/v1/namespaces/default/configmaps/cm%2F1/echo/x?y=1');
    expect(r.status).to.equal(200);
    expect(r.body).to.include({ namespace: 'default', name: 'cm/1', verb: 'get' });
    expect(r.body.rawPath).to.equal('/api/v1/namespaces/default/configmaps/cm%2F1/echo/x');
    expect(r.headers.get('warning')).to.equal('299 - "echo was here"');
  });

  it('answers a verb the subresource does not list with 405, and a handler error before any write with a Status', async () => {
    expect((await api(ts.url, 'DELETE', '/api/v1/namespaces/default/configmaps/c/echo')).status).to.equal(405);
    const failed = await api(ts.url, 'GET', '/api/v1/namespaces/default/configmaps/c/echo?fail=before');
    expect(failed.status).to.equal(500);
    expect(failed.body.kind).to.equal('Status');
  });

  it('lets the handler take an upgraded connection over', async () => {
    const r = await exchange(ts.port, upgradeHead('/api/v1/namespaces/default/configmaps/c/echo'), /ping$/, 'ping');
    expect(r.text).to.match(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(r.text.endsWith('ping')).to.equal(true);
  });

  it('answers an upgrade to an ordinary resource like any request, then closes the connection', async () => {
    const r = await exchange(ts.port, upgradeHead('/api/v1/namespaces/default/configmaps'));
    expect(r.text).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    expect(r.text).to.include('"kind":"ConfigMapList"');
    expect(r.closed).to.equal(true);
  });

  describe('upgrades are authenticated and authorized first', () => {
    let secure: TestServer;
    let scratch: Scratch;

    before(async () => {
      scratch = scratchDir('connect');
      const tokens = scratch.file('tokens.csv', 'reader-token,reader,1\n');
      const policy = scratch.file(
        'policy.jsonl',
        '{"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{"user":"reader","namespace":"*","resource":"configmaps","readonly":true}}\n',
      );
      secure = await startTestServer({
        secure: true,
        plugins: {
          'connect-echo': { path: ECHO },
          'authn-token-file': { config: { tokenAuthFile: tokens } },
          'authz-abac': { config: { policyFile: policy } },
        },
      });
    });
    after(async () => {
      await secure?.close();
      scratch?.remove();
    });

    it('refuses an unauthenticated upgrade with 401 and a refused one with 403, never reaching the handler', async () => {
      const anonymous = await httpsRequest(secure, '/api/v1/namespaces/default/configmaps/c/echo', {
        headers: { Connection: 'Upgrade', Upgrade: 'echo' },
      });
      expect(anonymous.status).to.equal(401);
      const refused = await httpsRequest(secure, '/api/v1/namespaces/default/configmaps/c/echo', {
        method: 'POST',
        token: 'reader-token',
        headers: { Connection: 'Upgrade', Upgrade: 'echo' },
      });
      expect(refused.status).to.equal(403);
      expect(refused.body.details).to.deep.equal({ name: 'c', kind: 'configmaps' });
    });
  });
});
