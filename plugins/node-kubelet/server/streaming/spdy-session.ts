/**
 * The server side of a SPDY/3 connection as Kubernetes streams use it (moby/spdystream): the client
 * opens streams (SYN_STREAM with headers such as streamType), the server answers each with an
 * empty SYN_REPLY, both send data frames, FIN half-closes, RST_STREAM aborts, PINGs are echoed,
 * GOAWAY ends the connection. There is no flow control (spdystream has none); backpressure is the
 * socket's: a stream whose reader is full pauses the socket, a full socket holds writers back.
 *
 * Header blocks go through one inflater and one deflater per connection, in frame order, so every
 * frame is handled on one promise chain. Bounds: streams open at once, and an idle timeout that
 * closes the connection when no frame has moved either way.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { IdleTimer } from './idle.js';
import {
  type ControlFrame,
  type DataFrame,
  dataFrameHead,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  type Frame,
  FrameReader,
  FrameType,
  GoAwayStatus,
  goAwayFrame,
  pingFrame,
  RstStatus,
  rstStreamFrame,
  SPDY3_DICTIONARY,
  SpdyProtocolError,
  synReplyFrame,
} from './spdy-frames.js';

/** How much one stream may carry in a data frame we send (spdystream reads whole frames into memory). */
const MAX_DATA_CHUNK = 64 * 1024;
/** Bytes queued on the socket before a writer waits for it to drain. */
const SOCKET_HIGH_WATER = 1024 * 1024;
/** How much a stream buffers each way before its producer waits. */
const STREAM_HIGH_WATER = 256 * 1024;
/** A decompressed header block larger than this is a protocol error (headers here are a few bytes). */
const MAX_HEADER_BLOCK = 64 * 1024;

/** Runs zlib over one block at a time, keeping the connection's compression context. */
async function zlibBlock(stream: Inflate | Deflate, input: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      parts.push(chunk);
    };
    const onError = (err: Error) => {
      stream.off('data', onData);
      reject(err);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(input);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      stream.off('error', onError);
      if (size > limit) reject(new SpdyProtocolError('header block too large'));
      else resolve(Buffer.concat(parts));
    });
  });
}

export interface SpdySessionOptions {
  maxStreams: number;
  idleTimeoutMs: number;
}

/** One client-opened stream: readable (what the client sends), writable (what we send back). */
export class SpdyStream extends Duplex {
  /** Lower-case header names: streamtype, port, requestid, ... */
  readonly headers: Record<string, string>;
  private remoteFinished = false;
  private localFinished = false;

  constructor(
    readonly id: number,
    headers: Record<string, string>,
    private readonly session: SpdySession,
  ) {
    super({ allowHalfOpen: true, autoDestroy: false, highWaterMark: STREAM_HIGH_WATER });
    this.headers = headers;
  }

  override _read(): void {
    this.session.resumeReading();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false).then(() => callback(), callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.localFinished = true;
    this.session.sendData(this.id, Buffer.alloc(0), true).then(() => {
      this.maybeDone();
      callback();
    }, callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.session.forget(this.id, !(this.localFinished && this.remoteFinished));
    callback(err);
  }

  /** Data from the client; false when the reader is full (the session pauses the socket). */
  receive(data: Buffer, fin: boolean): boolean {
    let more = true;
    if (data.length) more = this.push(data);
    if (fin) this.remoteFinish();
    return more;
  }

  remoteFinish(): void {
    if (this.remoteFinished) return;
    this.remoteFinished = true;
    this.push(null);
    this.maybeDone();
  }

  private maybeDone(): void {
    if (this.localFinished && this.remoteFinished) this.session.forget(this.id, false);
  }
}

/** Events: 'stream' (a SpdyStream the client opened, already answered), 'close'. */
export class SpdySession extends EventEmitter<{ stream: [SpdyStream]; close: [] }> {
  private readonly reader = new FrameReader();
  private readonly inflater: Inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  private readonly deflater: Deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });
  private readonly streams = new Map<number, SpdyStream>();
  private chain: Promise<void> = Promise.resolve();
  private lastStreamId = 0;
  private goingAway = false;
  private closed = false;
  private paused = false;
  private readonly idle: IdleTimer;

  constructor(
    private readonly socket: Duplex,
    private readonly options: SpdySessionOptions,
  ) {
    super();
    this.inflater.on('error', () => this.destroy());
    this.deflater.on('error', () => this.destroy());
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('close', () => this.destroy());
    socket.on('error', () => this.destroy());
    socket.on('end', () => this.destroy());
    this.idle = new IdleTimer(options.idleTimeoutMs, () => this.destroy());
  }

  /** Streams open now. */
  get streamCount(): number {
    return this.streams.size;
  }

  private onBytes(chunk: Buffer): void {
    this.idle.touch();
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch {
      this.fail();
      return;
    }
    for (const frame of frames) {
      this.chain = this.chain.then(() => this.handle(frame)).catch(() => this.fail());
    }
  }

  private async handle(frame: Frame): Promise<void> {
    if (this.closed) return;
    if (!frame.control) return this.handleData(frame);
    switch (frame.type) {
      case FrameType.SYN_STREAM:
        return this.handleSynStream(frame);
      case FrameType.SYN_REPLY:
      case FrameType.HEADERS:
        // Nothing to do with them, but the inflater must see every block to stay in step.
        await zlibBlock(
          this.inflater,
          frame.data.subarray(frame.type === FrameType.SYN_REPLY ? 4 : 4),
          MAX_HEADER_BLOCK,
        );
        return;
      case FrameType.RST_STREAM:
        this.streams.get(frame.data.readUInt32BE(0) & 0x7fffffff)?.destroy(new Error('stream reset by the client'));
        return;
      case FrameType.PING: {
        const id = frame.data.readUInt32BE(0);
        // Odd ids are the client's pings: echo them. Even ones would answer ours; we send none.
        if (id % 2 === 1) this.write(pingFrame(id));
        return;
      }
      case FrameType.GOAWAY:
        this.goingAway = true;
        if (!this.streams.size) this.destroy();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, unknown: spdystream ignores them, so do we.
        return;
    }
  }

  private async handleSynStream(frame: ControlFrame): Promise<void> {
    if (frame.data.length < 10) throw new SpdyProtocolError('short SYN_STREAM');
    const id = frame.data.readUInt32BE(0) & 0x7fffffff;
    const headers = decodeHeaderBlock(await zlibBlock(this.inflater, frame.data.subarray(10), MAX_HEADER_BLOCK));
    if (id % 2 === 0 || id <= this.lastStreamId) {
      this.write(rstStreamFrame(id, RstStatus.PROTOCOL_ERROR));
      return;
    }
    this.lastStreamId = id;
    if (this.goingAway || this.streams.size >= this.options.maxStreams) {
      this.write(rstStreamFrame(id, RstStatus.REFUSED_STREAM));
      return;
    }
    const stream = new SpdyStream(id, headers, this);
    stream.on('error', () => undefined);
    this.streams.set(id, stream);
    const block = await zlibBlock(this.deflater, encodeHeaderBlock({}), Number.POSITIVE_INFINITY);
    this.write(synReplyFrame(id, 0, block));
    if (frame.flags & FLAG_FIN) stream.remoteFinish();
    if (frame.flags & FLAG_UNIDIRECTIONAL) stream.end();
    this.emit('stream', stream);
  }

  private handleData(frame: DataFrame): void {
    const stream = this.streams.get(frame.streamId);
    if (!stream) return;
    const more = stream.receive(frame.data, (frame.flags & FLAG_FIN) !== 0);
    if (!more && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  resumeReading(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.socket.resume();
  }

  /** Sends data on a stream in frames of at most 64 KiB; resolves when the socket took them. */
  async sendData(id: number, data: Buffer, fin: boolean): Promise<void> {
    if (this.closed) throw new Error('the SPDY connection is closed');
    for (let at = 0; at < data.length || (at === 0 && fin); at += MAX_DATA_CHUNK) {
      const chunk = data.subarray(at, at + MAX_DATA_CHUNK);
      const last = at + MAX_DATA_CHUNK >= data.length;
      await this.writeAsync(dataFrameHead(id, fin && last ? FLAG_FIN : 0, chunk.length), chunk);
      if (!data.length) break;
    }
  }

  private write(frame: Buffer): boolean {
    if (this.closed) return false;
    this.idle.touch();
    return this.socket.write(frame);
  }

  private writeAsync(head: Buffer, payload?: Buffer): Promise<void> {
    if (payload?.length && !this.closed) {
      this.socket.cork();
      this.write(head);
      this.socket.write(payload);
      this.socket.uncork();
    } else {
      this.write(head);
    }
    // A TLS socket calls itself full at 16 KiB; a deeper queue keeps a fast stream from waiting a
    // turn of the event loop per frame, and stays bounded.
    if (this.closed || this.socket.writableLength < SOCKET_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** A stream is done (or torn down: `reset` sends RST_STREAM). After GOAWAY, the last one ends the connection. */
  forget(id: number, reset: boolean): void {
    if (!this.streams.delete(id)) return;
    if (reset && !this.closed) this.write(rstStreamFrame(id, RstStatus.CANCEL));
    if (this.goingAway && !this.streams.size) this.close();
  }

  /** Ends the connection as spdystream's Close: GOAWAY, then the socket once written. */
  close(): void {
    if (this.closed) return;
    this.write(goAwayFrame(this.lastStreamId, GoAwayStatus.OK));
    this.closed = true;
    this.idle.stop();
    for (const stream of this.streams.values()) stream.destroy();
    this.streams.clear();
    this.socket.end();
    // A peer that never closes its side does not keep the socket: bounded.
    setTimeout(() => this.socket.destroy(), 5000).unref();
    this.finish();
  }

  destroy(): void {
    if (!this.closed) {
      this.closed = true;
      this.idle.stop();
      for (const stream of this.streams.values()) stream.destroy();
      this.streams.clear();
    }
    this.socket.destroy();
    this.finish();
  }

  private fail(): void {
    if (!this.closed) this.write(goAwayFrame(this.lastStreamId, GoAwayStatus.PROTOCOL_ERROR));
    this.destroy();
  }

  private finishedOnce = false;
  private finish(): void {
    if (this.finishedOnce) return;
    this.finishedOnce = true;
    this.inflater.close();
    this.deflater.close();
    this.emit('close');
  }
}
