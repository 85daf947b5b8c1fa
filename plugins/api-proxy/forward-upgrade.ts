/**
 * An upgrade request (WebSocket, SPDY) through the proxy, as upstream's UpgradeAwareHandler
 * tryUpgrade: the request is written to a fresh connection to the backend and the backend's answer
 * read. 101 Switching Protocols: the answer goes to the client and bytes are copied both ways
 * until either side ends; nothing is parsed. Any other answer ends both connections
 * (CVE-2018-1002105: a connection whose upgrade failed must never carry further requests with
 * the API server's credentials): an error answer (4xx, 5xx) is passed on first; a redirect or
 * success is never followed and is refused as "invalid upgrade response".
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectRequest } from 'skiff/sdk/api';
import { errors } from 'skiff/sdk/api';
import type { ForwardOptions, Target } from './forward-http.js';
import { requestHeaders } from './headers.js';

const MAX_HEAD_BYTES = 64 * 1024;
/** How long a failed upgrade's error answer may take to pass on (upstream: 10 s). */
const ERROR_RELAY_MS = 10_000;

export async function forwardUpgrade(request: ConnectRequest, target: Target, options: ForwardOptions): Promise<void> {
  const client = request.upgrade!;
  const backend = await dial(target, options);
  backend.write(requestHead(request, target));
  let head: { code: number; bytes: Buffer };
  try {
    head = await readHead(backend, options.responseHeaderTimeoutMs);
  } catch (err) {
    backend.destroy();
    throw errors.serviceUnavailable(`error trying to reach service: ${(err as Error).message}`);
  }
  if (head.code !== 101 && head.code < 400) {
    backend.destroy();
    throw errors.internal(`invalid upgrade response: status code ${head.code}`);
  }
  // Never written (the bytes go straight to the socket), but audit and metrics read it.
  request.res.statusCode = head.code;
  request.res.detachSocket(client.socket as Socket);
  if (head.code !== 101) return passErrorOn(backend, client.socket, head.bytes);
  client.socket.write(head.bytes);
  if (client.head.length) backend.write(client.head);
  await splice(client.socket, backend);
}

function dial(target: Target, options: ForwardOptions): Promise<Socket> {
  const { backend } = target;
  return new Promise((resolve, reject) => {
    const socket =
      backend.scheme === 'https'
        ? tlsConnect({
            host: backend.host,
            port: backend.port,
            ...(backend.tls ?? { rejectUnauthorized: false }),
            ALPNProtocols: ['http/1.1'],
          })
        : netConnect({ host: backend.host, port: backend.port });
    // Interactive streams (a shell's keystrokes) must not wait on Nagle.
    socket.setNoDelay(true);
    const ready = backend.scheme === 'https' ? 'secureConnect' : 'connect';
    const timer = setTimeout(() => fail(new Error('dial timeout')), options.dialTimeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(errors.serviceUnavailable(`error trying to reach service: ${err.message}`));
    };
    socket.once('error', fail);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

function requestHead(request: ConnectRequest, target: Target): string {
  const lines = [`${request.req.method} ${target.path} HTTP/1.1`];
  for (const [name, value] of requestHeaders(request.req, true))
    lines.push(`${name}: ${value.replace(/[\r\n]/g, ' ')}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Reads the backend's status line and headers (and whatever came with them), bounded in size and time. */
function readHead(socket: Socket, timeoutMs: number): Promise<{ code: number; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', done);
      socket.off('end', onEnd);
      if (err) return reject(err);
      socket.pause();
      const code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(bytes.toString('latin1'))?.[1]);
      if (!code) return reject(new Error('malformed HTTP response'));
      resolve({ code, bytes });
    };
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      if (bytes.indexOf('\r\n\r\n') >= 0) done();
      else if (bytes.length > MAX_HEAD_BYTES) done(new Error('response headers too large'));
    };
    const onEnd = () => done(new Error('EOF'));
    const timer = setTimeout(() => done(new Error('timeout awaiting response headers')), timeoutMs);
    socket.on('data', onData);
    socket.once('error', done);
    socket.once('end', onEnd);
  });
}

/**
 * A refused upgrade: the backend's error answer to the client (as far as its framing says, within
 * 10 s), then both connections closed.
 */
function passErrorOn(backend: Socket, client: Duplex, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const complete = answerComplete(bytes);
    let seen = Buffer.alloc(0);
    const end = () => {
      clearTimeout(timer);
      backend.destroy();
      client.end(() => client.destroy());
      resolve();
    };
    const take = (chunk: Buffer) => {
      client.write(chunk);
      seen = Buffer.concat([seen, chunk]);
      if (complete(seen)) end();
    };
    const timer = setTimeout(end, ERROR_RELAY_MS);
    backend.on('data', take);
    backend.once('end', end);
    backend.once('error', end);
    client.once('close', end);
    take(bytes);
    backend.resume();
  });
}

/** Whether an HTTP answer is whole: by its Content-Length, or a chunked body's last chunk; else at close. */
function answerComplete(head: Buffer): (seen: Buffer) => boolean {
  const headEnd = head.indexOf('\r\n\r\n') + 4;
  const headers = head.subarray(0, headEnd).toString('latin1');
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1];
  if (length !== undefined) return (seen) => seen.length >= headEnd + Number(length);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(headers)) return (seen) => seen.subarray(-5).toString() === '0\r\n\r\n';
  return () => false;
}

/** Bytes both ways until either side ends; then both are closed. */
function splice(client: Duplex, backend: Socket): Promise<void> {
  return new Promise((resolve) => {
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      backend.destroy();
      resolve();
    };
    client.pipe(backend);
    backend.pipe(client);
    backend.resume();
    for (const side of [client, backend]) {
      side.once('close', close);
      side.once('error', close);
      side.once('end', close);
    }
  });
}
