/**
 * Port forwarding (k8s.io/kubelet cri/streaming/portforward), over the three transports a client
 * may come with:
 *
 * - SPDY/3.1, protocol portforward.k8s.io: per forwarded connection the client opens an error
 *   stream and a data stream carrying the same `port` and `requestID` headers; once both are
 *   there the kubelet dials the pod's port and copies bytes both ways. A failure is written to the
 *   error stream: "error forwarding port P to pod <uid>, uid <uid>: <why>".
 * - SPDY inside WebSocket (subprotocol SPDY/3.1+portforward.k8s.io, kubectl ≥ 1.31 through an API
 *   server that tunnels): the same SPDY conversation, each WebSocket binary message a slice of
 *   the SPDY byte stream.
 * - WebSocket channels (v4.channel.k8s.io, v4.base64.channel.k8s.io or none): the ports come as
 *   ?port= (repeatable, comma-separated); port i gets data channel 2i and error channel 2i+1,
 *   each starting with the port as two little-endian bytes; one connection per port.
 */
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket } from 'ws';
import { ChannelConnection, channelProtocol } from './channels.js';
import { SpdySession, type SpdySessionOptions, type SpdyStream } from './spdy-session.js';

export const SPDY_PORT_FORWARD_PROTOCOLS = ['portforward.k8s.io'];
export const TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
export const WS_PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io', ''];

const STREAM_CREATION_TIMEOUT_MS = 30_000;

/** Dials a port of the pod's network (the runtime's portForward). */
export type Dial = (port: number) => Promise<Duplex>;

export interface ForwardTarget {
  dial: Dial;
  /** For error messages: the pod's name and uid. */
  podName: string;
  podUid: string;
}

const forwardError = (t: ForwardTarget, port: number | string, why: string) =>
  `error forwarding port ${port} to pod ${t.podName}, uid ${t.podUid}: ${why}`;

export function parsePort(raw: string | undefined): number | undefined {
  if (!raw || !/^\d+$/.test(raw)) return undefined;
  const port = Number(raw);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * Copies both ways with half-closes (either side's end ends the other's writing); resolves when
 * both directions are done, or at once when either side broke off (an error, a reset stream).
 */
function splice(client: Duplex, pod: Duplex): Promise<void> {
  return new Promise((resolve) => {
    let pending = 2;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      client.destroy();
      pod.destroy();
      resolve();
    };
    const half = () => {
      pending--;
      if (pending === 0) finish();
    };
    client.on('error', finish);
    pod.on('error', finish);
    // A SPDY stream closes by itself only when reset or when its connection went away.
    client.on('close', () => pending > 0 && finish());
    client.pipe(pod).on('finish', half);
    pod.pipe(client).on('finish', half);
  });
}

/** SPDY port-forward over an upgraded connection or a WebSocket tunnel. */
export function serveSpdyPortForward(socket: Duplex, target: ForwardTarget, options: SpdySessionOptions): SpdySession {
  const session = new SpdySession(socket, options);
  const pending = new Map<string, { data?: SpdyStream; error?: SpdyStream; timer: NodeJS.Timeout }>();
  session.on('stream', (stream) => {
    const type = stream.headers.streamtype;
    if (type !== 'data' && type !== 'error') {
      stream.destroy();
      return;
    }
    // Clients before requestID paired streams by id: the error stream's id, the data stream's minus 2.
    const requestId = stream.headers.requestid ?? String(type === 'error' ? stream.id : stream.id - 2);
    let pair = pending.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        const stale = pending.get(requestId);
        pending.delete(requestId);
        stale?.error?.end(`timed out waiting for streams of request ${requestId}`);
        stale?.data?.destroy();
      }, STREAM_CREATION_TIMEOUT_MS);
      timer.unref();
      pair = { timer };
      pending.set(requestId, pair);
    }
    if (pair[type]) {
      stream.destroy();
      return;
    }
    pair[type] = stream;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pending.delete(requestId);
      void forwardPair(pair.data, pair.error, target);
    }
  });
  session.on('close', () => {
    for (const pair of pending.values()) clearTimeout(pair.timer);
  });
  return session;
}

async function forwardPair(data: SpdyStream, error: SpdyStream, target: ForwardTarget): Promise<void> {
  error.resume(); // the client never writes on it
  const raw = data.headers.port;
  const port = parsePort(raw);
  if (port === undefined) {
    error.end(forwardError(target, raw ?? '', `invalid port number "${raw ?? ''}"`));
    data.end();
    return;
  }
  let pod: Duplex;
  try {
    pod = await target.dial(port);
  } catch (err) {
    error.end(forwardError(target, port, (err as Error).message));
    data.end();
    return;
  }
  await splice(data, pod);
  if (!error.destroyed) error.end();
}

/** SPDY carried in WebSocket binary messages (the tunnel kubectl ≥ 1.31 opens). */
export function serveTunnel(ws: WebSocket, target: ForwardTarget, options: SpdySessionOptions): SpdySession {
  const stream = createWebSocketStream(ws, { allowHalfOpen: false });
  stream.on('error', () => undefined);
  return serveSpdyPortForward(stream, target, options);
}

/** Ports from ?port= (each value may list several, comma-separated), as upstream's NewV4Options. */
export function portsFromQuery(values: string[]): number[] | string {
  if (!values.length) return 'query parameter "port" is required';
  const ports: number[] = [];
  for (const value of values) {
    if (!value) return 'query parameter "port" cannot be empty';
    for (const p of value.split(',')) {
      const port = parsePort(p);
      if (port === undefined) return `unable to parse "${value}" as a port`;
      ports.push(port);
    }
  }
  return ports;
}

/** WebSocket channels: port i on channels 2i (data) and 2i+1 (error); the connection ends with the last port's. */
export async function serveWebSocketPortForward(
  ws: WebSocket,
  protocol: string,
  ports: number[],
  target: ForwardTarget,
  idleTimeoutMs: number,
): Promise<void> {
  const conn = new ChannelConnection(
    ws,
    channelProtocol(protocol),
    ports.map((_, i) => 2 * i),
    idleTimeoutMs,
  );
  await Promise.all(
    ports.map(async (port, i) => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16LE(port);
      await conn.write(2 * i, prefix);
      await conn.write(2 * i + 1, prefix);
      const input = conn.reader(2 * i);
      let pod: Duplex;
      try {
        pod = await target.dial(port);
      } catch (err) {
        await conn.write(2 * i + 1, Buffer.from(forwardError(target, port, (err as Error).message)));
        input.resume();
        return;
      }
      pod.on('error', () => undefined);
      input.pipe(pod);
      for await (const chunk of pod) await conn.write(2 * i, chunk as Buffer);
      pod.destroy();
    }),
  ).catch(() => undefined);
  conn.close();
}
