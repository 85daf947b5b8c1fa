/**
 * exec, attach and port-forward on the kubelet's server, against real pods: WebSocket
 * (v5.channel.k8s.io, v4.channel.k8s.io, v4.base64.channel.k8s.io) and SPDY/3.1 for exec —
 * stdout, stderr, stdin, the exit code in the status channel, a terminal and its resize — attach
 * to a container's stdin and stdout, and port-forward over WebSocket channels, SPDY and SPDY
 * tunnelled in WebSocket, each carrying an HTTP request to the pod's server. Then the bounds: a
 * client that goes away ends the command, the connection limit, the idle timeout, and what cannot
 * be negotiated.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { expect } from 'chai';
import { createWebSocketStream, WebSocket } from 'ws';
import { NOT_ROOT, skipBecause } from '../../helpers/skip.js';
import { HTTP_SERVER, isRoot, PODS, podSpec, rootReason, waitFor } from './helpers.js';
import { type ClientIdentity, kubeletRequest, type ServerHarness, startServerHarness } from './server-helpers.js';
import { SpdyClient, statusOf, upgrade } from './spdy-client.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Json = any;

interface WsResult {
  channels: Map<number, Buffer[]>;
  text(channel: number): string;
  closeCode: number;
}

function openWs(port: number, path: string, protocols: string[], who: ClientIdentity): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}${path}`, protocols, {
      cert: who.certPem,
      key: who.keyPem,
      rejectUnauthorized: false,
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

/** Collects every channel's bytes (binary or base64 framing) until the server closes. */
function collect(ws: WebSocket, base64 = false): Promise<WsResult> {
  const channels = new Map<number, Buffer[]>();
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const channel = base64 && !isBinary ? data[0]! - 0x30 : data[0]!;
    const body = base64 && !isBinary ? Buffer.from(data.subarray(1).toString(), 'base64') : data.subarray(1);
    channels.set(channel, [...(channels.get(channel) ?? []), body]);
  });
  return new Promise((resolve) =>
    ws.on('close', (code) =>
      resolve({ channels, closeCode: code, text: (c) => Buffer.concat(channels.get(c) ?? []).toString() }),
    ),
  );
}

const WS_UPGRADE = (protocol: string) => ({
  Connection: 'Upgrade',
  Upgrade: 'websocket',
  'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Protocol': protocol,
});

/** A ws client on a socket whose handshake the test did itself (ws builds client sockets only from its own). */
function clientOver(socket: Duplex): WebSocket {
  const ws = new WebSocket(null as never, undefined, {});
  (ws as unknown as { _isServer: boolean })._isServer = false;
  (ws as unknown as { setSocket(s: Duplex, head: Buffer, o: object): void }).setSocket(socket, Buffer.alloc(0), {
    maxPayload: 0,
  });
  return ws;
}

const send = (ws: WebSocket, channel: number, data: string | Buffer) =>
  ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
const HTTP_GET = 'GET / HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n';
const exec = (pod: string, command: string[], flags = 'stdout=1&stderr=1') =>
  `/exec/default/${pod}/main?${command.map((c) => `command=${encodeURIComponent(c)}`).join('&')}&${flags}`;

function processGone(marker: string): boolean {
  return !readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
}

describe('node-kubelet server: streaming', function () {
  this.timeout(90_000);
  let h: ServerHarness;
  let port: number;
  let who: ClientIdentity;

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    h = await startServerHarness();
    await h.serving('stream');
    port = await h.portOf('stream');
    who = h.apiserverClient;
    await h.admin.create(PODS, 'default', podSpec('web', 'stream', HTTP_SERVER));
    await h.admin.create(
      PODS,
      'default',
      podSpec('echo', 'stream', ['cat'], {
        containers: [{ name: 'main', image: 'busybox', command: ['cat'], stdin: true }],
      }),
    );
    for (const name of ['web', 'echo']) {
      await waitFor(
        `pod ${name} running`,
        () => h.admin.get(PODS, 'default', name),
        (p: Json) => p.status?.phase === 'Running',
      );
    }
    // The server listens a moment after the pod is Running.
    await waitFor(
      'web to answer',
      () => h.admin.get(PODS, 'default', 'web'),
      (p: Json) => !!p.status?.podIP,
    );
  });

  after(async () => {
    await h?.close();
  });

  it('exec over WebSocket v5: stdout, stderr, and the exit code as a NonZeroExitCode status', async () => {
    const ws = await openWs(
      port,
      exec('web', ['sh', '-c', 'echo out; echo err >&2; exit 3']),
      ['v5.channel.k8s.io'],
      who,
    );
    expect(ws.protocol).to.equal('v5.channel.k8s.io');
    const result = await collect(ws);
    expect(result.text(1)).to.equal('out\n');
    expect(result.text(2)).to.equal('err\n');
    expect(JSON.parse(result.text(3))).to.deep.equal({
      metadata: {},
      status: 'Failure',
      message:
        'command terminated with non-zero exit code: error executing command [sh -c echo out; echo err >&2; exit 3], exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    expect(result.closeCode).to.equal(1000);
  });

  it('exec over WebSocket v5: stdin, ended with the close signal, reaches the command', async () => {
    const ws = await openWs(
      port,
      exec('web', ['sh', '-c', 'cat; echo done'], 'stdin=1&stdout=1&stderr=1'),
      ['v5.channel.k8s.io'],
      who,
    );
    const result = collect(ws);
    send(ws, 0, 'hello from stdin\n');
    ws.send(Buffer.from([255, 0]));
    const r = await result;
    expect(r.text(1)).to.equal('hello from stdin\ndone\n');
    expect(JSON.parse(r.text(3))).to.deep.equal({ metadata: {}, status: 'Success' });
  });

  it('exec over WebSocket v4 (binary) and v4.base64: the same streams, the status as JSON', async () => {
    const v4 = await openWs(port, exec('web', ['sh', '-c', 'echo four']), ['v4.channel.k8s.io'], who);
    const r4 = await collect(v4);
    expect(r4.text(1)).to.equal('four\n');
    expect(JSON.parse(r4.text(3)).status).to.equal('Success');
    const b64 = await openWs(
      port,
      exec('web', ['sh', '-c', 'echo sixty-four; exit 2']),
      ['v4.base64.channel.k8s.io'],
      who,
    );
    const rb = await collect(b64, true);
    expect(rb.text(1)).to.equal('sixty-four\n');
    expect(JSON.parse(rb.text(3)).details.causes[0]).to.deep.equal({ reason: 'ExitCode', message: '2' });
  });

  it('exec with a terminal: stderr joins stdout, and a resize message resizes it', async () => {
    const ws = await openWs(
      port,
      exec('web', ['sh', '-c', 'sleep 0.5; stty size; echo to-stderr >&2'], 'stdin=1&stdout=1&tty=1'),
      ['v5.channel.k8s.io'],
      who,
    );
    const result = collect(ws);
    send(ws, 4, JSON.stringify({ Width: 100, Height: 30 }));
    const r = await result;
    expect(r.text(1)).to.include('30 100').and.include('to-stderr');
    expect(r.channels.has(2)).to.equal(false);
  });

  it('exec over SPDY/3.1 (v4.channel.k8s.io): stdout, stderr, stdin with FIN, the exit code on the error stream', async () => {
    const answer = await upgrade(
      port,
      exec('web', ['sh', '-c', 'cat; echo err >&2; exit 7'], 'stdin=1&stdout=1&stderr=1'),
      who,
      {
        Connection: 'Upgrade',
        Upgrade: 'SPDY/3.1',
        'X-Stream-Protocol-Version': ['v4.channel.k8s.io', 'v3.channel.k8s.io'],
      },
    );
    expect(answer.status).to.equal(101);
    expect(answer.headers['x-stream-protocol-version']).to.equal('v4.channel.k8s.io');
    const client = new SpdyClient(answer.socket);
    const error = await client.open({ streamType: 'error' });
    const stdin = await client.open({ streamType: 'stdin' });
    const stdout = await client.open({ streamType: 'stdout' });
    const stderr = await client.open({ streamType: 'stderr' });
    stdin.write('over spdy\n');
    stdin.end();
    expect(await error.done).to.equal('fin');
    await Promise.all([stdout.done, stderr.done]);
    expect(stdout.text()).to.equal('over spdy\n');
    expect(stderr.text()).to.equal('err\n');
    expect(statusOf(error)).to.include({ status: 'Failure', reason: 'NonZeroExitCode' });
    expect(statusOf(error).details.causes[0].message).to.equal('7');
    client.ping(1);
    await waitFor(
      'GOAWAY and a closed connection',
      async () => client.goAway,
      (g) => g,
    );
    client.close();
  });

  it('exec over SPDY v2 (before v4): a failure is plain text on the error stream', async () => {
    const answer = await upgrade(port, exec('web', ['sh', '-c', 'exit 5']), who, {
      Connection: 'Upgrade',
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v2.channel.k8s.io',
    });
    const client = new SpdyClient(answer.socket);
    const error = await client.open({ streamType: 'error' });
    const stdout = await client.open({ streamType: 'stdout' });
    await client.open({ streamType: 'stderr' });
    await error.done;
    await stdout.done;
    expect(error.text()).to.equal(
      'command terminated with non-zero exit code: error executing command [sh -c exit 5], exit code 5',
    );
    client.close();
  });

  it("attach: what is written to the container's stdin comes back on its stdout", async () => {
    const ws = await openWs(port, '/attach/default/echo/main?stdin=1&stdout=1&stderr=1', ['v5.channel.k8s.io'], who);
    const got: Buffer[] = [];
    ws.on('message', (d: Buffer) => d[0] === 1 && got.push(d.subarray(1)));
    send(ws, 0, 'ping through attach\n');
    await waitFor(
      'the echo',
      async () => Buffer.concat(got).toString(),
      (t) => t.includes('ping through attach'),
    );
    ws.close();
  });

  it('port-forward over WebSocket channels: the port prefix on both channels, then an HTTP exchange', async () => {
    const ws = await openWs(port, '/portForward/default/web?port=8080', ['v4.channel.k8s.io'], who);
    const result = collect(ws);
    send(ws, 0, HTTP_GET);
    const r = await result;
    const data = Buffer.concat(r.channels.get(0)!);
    expect(data.readUInt16LE(0)).to.equal(8080);
    expect(Buffer.concat(r.channels.get(1)!).readUInt16LE(0)).to.equal(8080);
    expect(data.subarray(2).toString()).to.match(/^HTTP\/1\.1 200 OK[\s\S]*pod web$/);
  });

  it('port-forward over SPDY: an error/data stream pair per request; a closed port is reported on the error stream', async () => {
    const answer = await upgrade(port, '/portForward/default/web', who, {
      Connection: 'Upgrade',
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'portforward.k8s.io',
    });
    expect(answer.headers['x-stream-protocol-version']).to.equal('portforward.k8s.io');
    const client = new SpdyClient(answer.socket);
    const error = await client.open({ streamType: 'error', port: '8080', requestID: '0' });
    const data = await client.open({ streamType: 'data', port: '8080', requestID: '0' });
    data.write(HTTP_GET);
    await data.done;
    expect(data.text()).to.match(/^HTTP\/1\.1 200 OK[\s\S]*pod web$/);
    await error.done;
    expect(error.text()).to.equal('');
    const badError = await client.open({ streamType: 'error', port: '8081', requestID: '1' });
    await client.open({ streamType: 'data', port: '8081', requestID: '1' });
    await badError.done;
    expect(badError.text()).to.match(/^error forwarding port 8081 to pod web, uid [0-9a-f-]+: .*8081/);
    client.close();
  });

  it('port-forward over SPDY tunnelled in WebSocket (SPDY/3.1+portforward.k8s.io), as kubectl 1.32 sends it', async () => {
    // The ws client refuses a subprotocol with '/' (not an RFC 7230 token); Go's clients send it.
    const answer = await upgrade(
      port,
      '/portForward/default/web',
      who,
      WS_UPGRADE('SPDY/3.1+portforward.k8s.io'),
      'GET',
    );
    expect(answer.status).to.equal(101);
    expect(answer.headers['sec-websocket-protocol']).to.equal('SPDY/3.1+portforward.k8s.io');
    const ws = clientOver(answer.socket);
    const client = new SpdyClient(createWebSocketStream(ws));
    await client.open({ streamType: 'error', port: '8080', requestID: '0' });
    const data = await client.open({ streamType: 'data', port: '8080', requestID: '0' });
    data.write(HTTP_GET);
    await data.done;
    expect(data.text()).to.match(/pod web$/);
    ws.close();
  });

  it('a client that goes away ends its exec: the command is killed', async () => {
    const ws = await openWs(port, exec('web', ['sh', '-c', 'exec sleep 1337']), ['v5.channel.k8s.io'], who);
    await waitFor(
      'the command to run',
      async () => processGone('sleep\u00001337'),
      (gone) => !gone,
    );
    ws.terminate();
    await waitFor(
      'the command to be gone',
      async () => processGone('sleep\u00001337'),
      (gone) => gone,
      5000,
    );
  });

  it('refuses what cannot be negotiated: no upgrade (400), an unknown SPDY protocol (403), an unknown subprotocol (400)', async () => {
    const plain = await kubeletRequest(port, exec('web', ['true']), who);
    expect(plain.status).to.equal(400);
    expect(plain.body).to.equal('Upgrade request required');
    const spdy = await upgrade(port, exec('web', ['true']), who, {
      Connection: 'Upgrade',
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'v9.channel.k8s.io',
    });
    expect(spdy.status).to.equal(403);
    expect(spdy.headers['x-accepted-stream-protocol-versions']).to.include('v4.channel.k8s.io');
    const ws = await upgrade(port, exec('web', ['true']), who, WS_UPGRADE('v9.channel.k8s.io'), 'GET');
    expect(ws.status).to.equal(400);
    expect((await kubeletRequest(port, exec('web', ['true'], 'tty=1'), who)).body).to.equal(
      'you must specify at least 1 of stdin, stdout, stderr',
    );
    expect((await kubeletRequest(port, '/exec/default/nope/main?command=true&stdout=1', who)).status).to.equal(404);
    // An upgrade asked of an endpoint that does not stream is answered as the plain request it also is.
    const pods = await upgrade(port, '/pods', who, WS_UPGRADE('v5.channel.k8s.io'), 'GET');
    expect(pods.status).to.equal(200);
    expect(JSON.parse(pods.body).kind).to.equal('PodList');
    expect((await kubeletRequest(port, '/exec/default/web/nope?command=true&stdout=1', who)).status).to.equal(404);
  });
});

describe('node-kubelet server: streaming bounds', function () {
  this.timeout(90_000);
  let h: ServerHarness;
  let port: number;

  before(async function () {
    if (!isRoot) skipBecause(this, NOT_ROOT);
    h = await startServerHarness();
    await h.serving('bounded', {
      streamingMaxConnections: 1,
      streamingConnectionIdleTimeout: 1,
      streamingMaxStreamsPerConnection: 2,
    });
    port = await h.portOf('bounded');
    await h.admin.create(PODS, 'default', podSpec('web', 'bounded', HTTP_SERVER));
    await waitFor(
      'pod running',
      () => h.admin.get(PODS, 'default', 'web'),
      (p: Json) => p.status?.phase === 'Running',
    );
  });

  after(async () => {
    await h?.close();
  });

  it('a second streaming connection over --streaming max is refused with 429; an idle one is closed after the timeout, freeing its slot at once', async () => {
    const started = Date.now();
    const first = await openWs(port, exec('web', ['sleep', '30']), ['v5.channel.k8s.io'], h.apiserverClient);
    const closed = new Promise<void>((resolve) => first.on('close', () => resolve()));
    const second = await kubeletRequest(port, exec('web', ['true']), h.apiserverClient, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    expect(second.status).to.equal(429);
    await closed;
    expect(Date.now() - started).to.be.lessThan(10_000);
    // The slot is the connection's: free as soon as it closed, while its command is still being killed.
    const next = await openWs(port, exec('web', ['true']), ['v5.channel.k8s.io'], h.apiserverClient);
    expect((await collect(next)).text(3)).to.contain('Success');
  });

  it('a SPDY connection may open only so many streams at once: the next is refused with RST_STREAM', async () => {
    const answer = await upgrade(port, '/portForward/default/web', h.apiserverClient, {
      Connection: 'Upgrade',
      Upgrade: 'SPDY/3.1',
      'X-Stream-Protocol-Version': 'portforward.k8s.io',
    });
    const client = new SpdyClient(answer.socket);
    const first = await client.open({ streamType: 'error', port: '8080', requestID: '0' });
    await client.open({ streamType: 'data', port: '8080', requestID: '0' });
    const third = await client.open({ streamType: 'error', port: '8080', requestID: '1' });
    expect(await third.done).to.equal('reset');
    expect(await Promise.race([first.done, new Promise((r) => setTimeout(() => r('open'), 100))])).to.equal('open');
    client.close();
  });
});
