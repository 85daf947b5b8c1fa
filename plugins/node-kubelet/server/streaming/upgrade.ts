/**
 * The two upgrades streaming endpoints take (k8s.io/apimachinery httpstream): WebSocket with a
 * subprotocol chosen from the client's list in the client's order (wsstream's handshake), and
 * SPDY/3.1 with X-Stream-Protocol-Version negotiated the same way (httpstream.Handshake; no header
 * at all means the oldest protocol, as 1.0 clients sent none). What cannot be negotiated is
 * answered before any upgrade: 400 for a request that is no upgrade, 403 with the protocols the
 * server accepts (X-Accepted-Stream-Protocol-Versions) when none matches.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Exchange, rawReply, reply } from '../exchange.js';

const token = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : (v ?? '')).toLowerCase();

export function isWebSocket(req: IncomingMessage): boolean {
  return token(req.headers.upgrade) === 'websocket' && token(req.headers.connection).includes('upgrade');
}

export function isSpdy(req: IncomingMessage): boolean {
  return token(req.headers.upgrade).includes('spdy/3.1') && token(req.headers.connection).includes('upgrade');
}

/** The offered WebSocket subprotocols, in order. */
function offered(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  return (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * WebSocket upgrades for one kubelet server: the subprotocol is chosen before the upgrade (the
 * first offered one this endpoint speaks; "" when none is offered and "" is allowed) and echoed.
 */
export class WebSocketUpgrader {
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  private readonly wss: WebSocketServer;

  constructor(maxPayload: number) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload,
      perMessageDeflate: false,
      handleProtocols: (_protocols, req) => this.chosen.get(req as IncomingMessage) || false,
    });
  }

  async accept(ex: Exchange, supported: readonly string[]): Promise<{ ws: WebSocket; protocol: string } | undefined> {
    const wanted = offered(ex.req);
    const protocol = wanted.length
      ? wanted.find((p) => supported.includes(p))
      : supported.includes('')
        ? ''
        : undefined;
    if (protocol === undefined) {
      reply(
        ex,
        400,
        `requested protocol(s) are not supported: [${wanted.join(' ')}]; supports [${supported.filter(Boolean).join(' ')}]`,
      );
      return undefined;
    }
    this.chosen.set(ex.req, protocol);
    // ws checks subprotocols against RFC 7230's token characters, and kubectl's tunnel
    // "SPDY/3.1+portforward.k8s.io" has a '/'. The choice is made above; ws only echoes it.
    if (ex.req.headers['sec-websocket-protocol'] !== undefined) ex.req.headers['sec-websocket-protocol'] = 'chosen';
    const { socket, head } = ex.upgrade!;
    return new Promise((resolve) => {
      this.wss.handleUpgrade(ex.req, socket, head, (ws) => resolve({ ws, protocol }));
    });
  }

  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}

/**
 * Answers a SPDY/3.1 upgrade: 101 with the negotiated X-Stream-Protocol-Version, and hands back
 * the connection. Undefined when it answered with an error instead.
 */
export function acceptSpdy(
  ex: Exchange,
  supported: readonly string[],
): { socket: Duplex; protocol: string } | undefined {
  const header = ex.req.headers['x-stream-protocol-version'];
  const wanted = (Array.isArray(header) ? header : header ? [header] : [])
    .flatMap((v) => v.split(',').map((p) => p.trim()))
    .filter(Boolean);
  let protocol: string | undefined;
  if (!wanted.length) protocol = '';
  else protocol = wanted.find((p) => supported.includes(p));
  if (protocol === undefined) {
    const accepted = Object.fromEntries([['X-Accepted-Stream-Protocol-Versions', supported.join(', ')]]);
    reply(
      ex,
      403,
      `unable to upgrade: unable to negotiate protocol: client supports [${wanted.join(' ')}], server accepts [${supported.join(' ')}]`,
      accepted,
    );
    return undefined;
  }
  const { socket, head } = ex.upgrade!;
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
  if (protocol) lines.push(`X-Stream-Protocol-Version: ${protocol}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length) socket.unshift(head);
  return { socket, protocol };
}

/** A request to a streaming endpoint that is no upgrade: upstream's UpgradeAwareHandler with upgradeRequired. */
export function upgradeRequired(ex: Exchange): void {
  if (ex.upgrade) rawReply(ex.upgrade.socket, 400, 'Upgrade request required');
  else reply(ex, 400, 'Upgrade request required');
}
