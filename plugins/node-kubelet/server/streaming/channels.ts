/**
 * Kubernetes' channel protocols over WebSocket (k8s.io/apimachinery wsstream): every message
 * carries one channel's bytes, the channel first — a byte (binary protocols: channel.k8s.io,
 * v4.channel.k8s.io, v5.channel.k8s.io) or an ASCII digit before base64 text (base64.channel.k8s.io,
 * v4.base64.channel.k8s.io). v5 adds the close signal: a message [255, channel] from the client ends
 * that channel (stdin's EOF). Readable channels become Node streams; writable ones take buffers,
 * with the socket's backpressure (a writer waits while much is buffered).
 */
import { PassThrough } from 'node:stream';
import type { WebSocket } from 'ws';
import { IdleTimer } from './idle.js';

/** What is sent before the socket is "full": writers wait until the buffer drains below it. */
const HIGH_WATER = 1024 * 1024;
const CLOSE_SIGNAL = 255;

export interface ChannelProtocol {
  base64: boolean;
  /** v5: the client may close a channel (stdin) with [255, channel]. */
  closeSignal: boolean;
}

/** The channel protocol a negotiated subprotocol stands for. */
export function channelProtocol(subprotocol: string): ChannelProtocol {
  return { base64: subprotocol.includes('base64'), closeSignal: subprotocol.startsWith('v5.') };
}

export class ChannelConnection {
  private readonly readers = new Map<number, PassThrough>();
  private readonly idle: IdleTimer;
  /** Resolves when the WebSocket has closed. */
  readonly closed: Promise<void>;

  constructor(
    private readonly ws: WebSocket,
    private readonly protocol: ChannelProtocol,
    readable: number[],
    idleTimeoutMs: number,
  ) {
    for (const channel of readable) this.readers.set(channel, new PassThrough({ highWaterMark: 256 * 1024 }));
    this.idle = new IdleTimer(idleTimeoutMs, () => ws.terminate());
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      ws.on('close', () => {
        this.idle.stop();
        for (const r of this.readers.values()) r.end();
        resolve();
      });
    });
  }

  reader(channel: number): PassThrough {
    return this.readers.get(channel)!;
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.idle.touch();
    let bytes = Buffer.isBuffer(data) ? data : Buffer.from(data as unknown as ArrayBuffer);
    if (!bytes.length) return;
    let channel: number;
    if (this.protocol.base64 && !isBinary) {
      channel = bytes[0]! - 0x30;
      bytes = Buffer.from(bytes.subarray(1).toString('latin1'), 'base64');
    } else {
      channel = bytes[0]!;
      bytes = bytes.subarray(1);
    }
    if (channel === CLOSE_SIGNAL && this.protocol.closeSignal) {
      if (bytes.length) this.readers.get(bytes[0]!)?.end();
      return;
    }
    const reader = this.readers.get(channel);
    if (!reader || reader.writableEnded || !bytes.length) return;
    // A reader that does not keep up (a command not reading its stdin) stops the socket, not memory.
    if (!reader.write(bytes)) {
      this.ws.pause();
      reader.once('drain', () => this.ws.resume());
    }
  }

  /** Sends bytes on a channel; resolves when there is room for more. */
  async write(channel: number, data: Buffer): Promise<void> {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.idle.touch();
    const message = this.protocol.base64
      ? Buffer.from(String.fromCharCode(0x30 + channel) + data.toString('base64'), 'latin1')
      : Buffer.concat([Buffer.from([channel]), data]);
    await new Promise<void>((resolve) => {
      this.ws.send(message, { binary: !this.protocol.base64 }, () => resolve());
      if (this.ws.bufferedAmount < HIGH_WATER) resolve();
    });
  }

  /** Ends the connection with a normal closure. */
  close(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), 5000).unref();
  }
}
