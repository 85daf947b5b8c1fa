/**
 * A minimal SPDY/3 client for tests, as client-go's (moby/spdystream) behaves: upgrade with
 * X-Stream-Protocol-Version, open streams with headers (SYN_STREAM, waiting for SYN_REPLY), send
 * data and FIN, collect what each stream receives until its FIN. It reuses the product's frame
 * codec; kubectl (server-kubectl.test.ts) is the independent check of the framing.
 */
import type { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import { constants, createDeflate, createInflate } from 'node:zlib';
import {
  dataFrame,
  encodeHeaderBlock,
  FLAG_FIN,
  FrameReader,
  FrameType,
  pingFrame,
  SPDY3_DICTIONARY,
  synStreamFrame,
} from '../../../plugins/node-kubelet/server/streaming/spdy-frames.js';
import type { ClientIdentity } from './server-helpers.js';

export interface ClientStream {
  id: number;
  data: Buffer[];
  /** Bytes received (kept count of even when `discard` drops the data). */
  received: number;
  /** Resolves when the server finished (FIN) or reset the stream. */
  done: Promise<'fin' | 'reset'>;
  text(): string;
  write(data: Buffer | string): void;
  end(): void;
}

export class SpdyClient {
  private readonly reader = new FrameReader();
  private readonly deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });
  private readonly inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  private nextId = 1;
  private readonly streams = new Map<
    number,
    { s: ClientStream; finish: (how: 'fin' | 'reset') => void; replied: () => void }
  >();
  readonly pongs: number[] = [];
  goAway = false;
  readonly closed: Promise<void>;
  private chain = Promise.resolve();

  /** `discard`: count received bytes without keeping them (transfers of 100 MB). */
  constructor(
    readonly socket: Duplex,
    private readonly options: { discard?: boolean } = {},
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) this.chain = this.chain.then(() => this.onFrame(frame));
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  private async onFrame(frame: ReturnType<FrameReader['push']>[number]): Promise<void> {
    if (!frame.control) {
      const entry = this.streams.get(frame.streamId);
      if (!entry) return;
      entry.s.received += frame.data.length;
      if (frame.data.length && !this.options.discard) entry.s.data.push(frame.data);
      if (frame.flags & FLAG_FIN) entry.finish('fin');
      return;
    }
    if (frame.type === FrameType.SYN_REPLY) {
      await this.zlib(this.inflate, frame.data.subarray(4));
      this.streams.get(frame.data.readUInt32BE(0) & 0x7fffffff)?.replied();
    } else if (frame.type === FrameType.RST_STREAM) {
      this.streams.get(frame.data.readUInt32BE(0) & 0x7fffffff)?.finish('reset');
    } else if (frame.type === FrameType.PING) {
      this.pongs.push(frame.data.readUInt32BE(0));
    } else if (frame.type === FrameType.GOAWAY) {
      this.goAway = true;
    }
  }

  private zlib(
    stream: ReturnType<typeof createDeflate> | ReturnType<typeof createInflate>,
    input: Buffer,
  ): Promise<Buffer> {
    return new Promise((resolve) => {
      const parts: Buffer[] = [];
      const on = (c: Buffer) => parts.push(c);
      stream.on('data', on);
      stream.write(input);
      stream.flush(constants.Z_SYNC_FLUSH, () => {
        stream.off('data', on);
        resolve(Buffer.concat(parts));
      });
    });
  }

  /** Opens a stream and waits for the server's SYN_REPLY (or its RST_STREAM). */
  async open(headers: Record<string, string>): Promise<ClientStream> {
    const id = this.nextId;
    this.nextId += 2;
    let finish!: (how: 'fin' | 'reset') => void;
    let replied!: () => void;
    const repliedP = new Promise<void>((r) => {
      replied = r;
    });
    const s: ClientStream = {
      id,
      data: [],
      received: 0,
      done: new Promise((r) => {
        finish = r;
      }),
      text: () => Buffer.concat(s.data).toString(),
      write: (data) => this.socket.write(dataFrame(id, 0, Buffer.from(data))),
      end: () => this.socket.write(dataFrame(id, FLAG_FIN, Buffer.alloc(0))),
    };
    this.streams.set(id, { s, finish, replied });
    const block = await this.zlib(this.deflate, encodeHeaderBlock(headers));
    this.socket.write(synStreamFrame(id, 0, block));
    // Answered, or refused with RST_STREAM (then `done` says 'reset').
    await Promise.race([repliedP, s.done]);
    return s;
  }

  ping(id: number): void {
    this.socket.write(pingFrame(id));
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface UpgradeAnswer {
  status: number;
  headers: Record<string, string>;
  socket: Duplex;
  body: string;
}

/** Sends an upgrade request over TLS and reads the answer's head; the socket then carries frames. */
export function upgrade(
  port: number,
  path: string,
  who: ClientIdentity,
  headers: Record<string, string | string[]>,
  method = 'POST',
): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, cert: who.certPem, key: who.keyPem, rejectUnauthorized: false });
    const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
    if (who.token) lines.push(`Authorization: Bearer ${who.token}`);
    for (const [k, v] of Object.entries(headers)) for (const one of [v].flat()) lines.push(`${k}: ${one}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [statusLine, ...rest] = buffered.subarray(0, end).toString().split('\r\n');
      const answer: Record<string, string> = {};
      for (const line of rest) {
        const i = line.indexOf(':');
        answer[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      const status = Number(statusLine!.split(' ')[1]);
      const after = buffered.subarray(end + 4);
      if (status === 101) {
        if (after.length) socket.unshift(after);
        resolve({ status, headers: answer, socket, body: '' });
      } else {
        const chunks: Buffer[] = [after];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('close', () => resolve({ status, headers: answer, socket, body: Buffer.concat(chunks).toString() }));
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

/** The SPDY status stream's text as JSON (v4+). */
export const statusOf = (s: ClientStream) => JSON.parse(s.text() || '{}');
