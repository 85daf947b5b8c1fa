/**
 * UDP, as upstream's userspace proxy: one socket per virtual address and port; each client
 * (address:port) gets a session, a socket connected to the endpoint chosen for it, whose replies go
 * back to the client from the service address (datagrams from anyone but that endpoint are
 * dropped). A session idle for the UDP timeout (upstream's --udp-timeout, 250 ms) is closed; the
 * client's next datagram picks an endpoint again. With no endpoint the datagram is dropped (UDP
 * has no reset to give).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Endpoint } from './balancer.js';
import type { Listener, Route } from './tcp-proxy.js';

interface Session {
  upstream: Socket;
  endpoint: Endpoint;
  timer: NodeJS.Timeout;
}

export function listenUdp(
  host: string,
  port: number,
  route: () => Route | undefined,
  idleMs: number,
): Promise<Listener> {
  const socket = createSocket({ type: 'udp4' });
  const sessions = new Map<string, Session>();
  const end = (key: string) => {
    const session = sessions.get(key);
    if (!session) return;
    sessions.delete(key);
    clearTimeout(session.timer);
    session.upstream.close();
  };
  const open = (address: string, clientPort: number): Session | undefined => {
    const r = route();
    const endpoint = r?.order(address)[0];
    if (!endpoint) return undefined;
    const key = `${address}:${clientPort}`;
    const upstream = createSocket({ type: 'udp4' });
    upstream.on('message', (reply, from) => {
      if (from.address !== endpoint.ip || from.port !== endpoint.port) return;
      socket.send(reply, clientPort, address);
      touch(key);
    });
    upstream.on('error', () => end(key));
    r!.answered(address, endpoint);
    const session = { upstream, endpoint, timer: setTimeout(() => end(key), idleMs) };
    sessions.set(key, session);
    return session;
  };
  const touch = (key: string) => {
    const session = sessions.get(key);
    if (session) session.timer.refresh();
  };
  socket.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    const session = sessions.get(key) ?? open(rinfo.address, rinfo.port);
    if (!session) return;
    touch(key);
    send(session, msg, () => end(key));
  });
  const closeAll = () => {
    for (const key of [...sessions.keys()]) end(key);
    socket.close();
  };
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve({ close: closeAll, closeAll });
    });
  });
}

/** To the session's endpoint; an error ends the session. */
function send(session: Session, msg: Buffer, fail: () => void): void {
  try {
    session.upstream.send(msg, session.endpoint.port, session.endpoint.ip, (err) => {
      if (err) fail();
    });
  } catch {
    fail();
  }
}
