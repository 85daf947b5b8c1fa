/**
 * SPDY/3 framing (draft 3, the version behind the "SPDY/3.1" upgrade token Kubernetes streams
 * use; moby/spdystream, which client-go uses, speaks draft 3 framing without flow control). Written
 * here because no maintained package exists: `spdy` on npm (4.0.2) is an HTTP server, not a frame
 * codec over an upgraded connection, and fails on Node ≥ 15 (spdy-http2/node-spdy#380).
 *
 * A control frame: 1 bit set, 15 bits version (3), 16 bits type, 8 bits flags, 24 bits length.
 * A data frame: 1 bit clear, 31 bits stream id, 8 bits flags, 24 bits length. Header blocks are
 * zlib streams (one per direction per connection, synced after each block) seeded with the
 * dictionary of section 2.6.10.1, which this file builds from the spec's word list.
 */

export const FrameType = Object.freeze({
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
});

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

export const RstStatus = Object.freeze({
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
});

export const GoAwayStatus = Object.freeze({ OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 });

const VERSION = 3;
/** The protocol's ceiling (24-bit lengths). */
export const MAX_FRAME_LENGTH = 0xffffff;

/** Words the spec's dictionary lists each with a 32-bit length before it, in its order. */
const DICTIONARY_WORDS = [
  'options',
  'head',
  'post',
  'put',
  'delete',
  'trace',
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'age',
  'allow',
  'authorization',
  'cache-control',
  'connection',
  'content-base',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'etag',
  'expect',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'pragma',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'via',
  'warning',
  'www-authenticate',
  'method',
  'get',
  'status',
  '200 OK',
  'version',
  'HTTP/1.1',
  'url',
  'public',
  'set-cookie',
  'keep-alive',
  'origin',
];

/** The dictionary's tail, raw. */
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

function buildDictionary(): Buffer {
  const parts = DICTIONARY_WORDS.map((word) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(word.length);
    return Buffer.concat([length, Buffer.from(word, 'latin1')]);
  });
  return Buffer.concat([...parts, Buffer.from(DICTIONARY_TAIL, 'latin1')]);
}

export const SPDY3_DICTIONARY = buildDictionary();

export interface ControlFrame {
  control: true;
  type: number;
  flags: number;
  data: Buffer;
}

export interface DataFrame {
  control: false;
  streamId: number;
  flags: number;
  data: Buffer;
}

export type Frame = ControlFrame | DataFrame;

/** Splits a byte stream into frames; `push` returns the frames completed so far. */
export class FrameReader {
  private buffered: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): Frame[] {
    this.buffered.push(chunk);
    this.length += chunk.length;
    const frames: Frame[] = [];
    while (this.length >= 8) {
      const head = this.peek(8);
      const size = head.readUIntBE(5, 3);
      if (this.length < 8 + size) break;
      const whole = this.take(8 + size);
      const data = whole.subarray(8);
      if (whole[0]! & 0x80) {
        const version = whole.readUInt16BE(0) & 0x7fff;
        if (version !== VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
        frames.push({ control: true, type: whole.readUInt16BE(2), flags: whole[4]!, data });
      } else {
        frames.push({ control: false, streamId: whole.readUInt32BE(0) & 0x7fffffff, flags: whole[4]!, data });
      }
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.buffered[0]!.length < n) this.buffered = [Buffer.concat(this.buffered)];
    return this.buffered[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
    this.buffered = all.length > n ? [all.subarray(n)] : [];
    this.length -= n;
    return all.subarray(0, n);
  }
}

export class SpdyProtocolError extends Error {}

function header(type: number, flags: number, length: number): Buffer {
  if (length > MAX_FRAME_LENGTH) throw new SpdyProtocolError(`frame of ${length} bytes is too large`);
  const b = Buffer.alloc(8);
  b.writeUInt16BE(0x8000 | VERSION, 0);
  b.writeUInt16BE(type, 2);
  b[4] = flags;
  b.writeUIntBE(length, 5, 3);
  return b;
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  return Buffer.concat([header(type, flags, payload.length), payload]);
}

/** A data frame's 8-byte head, for writing before its payload without copying it. */
export function dataFrameHead(streamId: number, flags: number, length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(streamId & 0x7fffffff, 0);
  b[4] = flags;
  b.writeUIntBE(length, 5, 3);
  return b;
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const head = dataFrameHead(streamId, flags, data.length);
  return data.length ? Buffer.concat([head, data]) : head;
}

const u32 = (...values: number[]) => {
  const b = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) b.writeUInt32BE(v >>> 0, i * 4);
  return b;
};

export const rstStreamFrame = (streamId: number, status: number) =>
  controlFrame(FrameType.RST_STREAM, 0, u32(streamId & 0x7fffffff, status));
export const pingFrame = (id: number) => controlFrame(FrameType.PING, 0, u32(id));
export const goAwayFrame = (lastStreamId: number, status: number) =>
  controlFrame(FrameType.GOAWAY, 0, u32(lastStreamId & 0x7fffffff, status));
export const synReplyFrame = (streamId: number, flags: number, block: Buffer) =>
  controlFrame(FrameType.SYN_REPLY, flags, Buffer.concat([u32(streamId & 0x7fffffff), block]));
export const synStreamFrame = (streamId: number, flags: number, block: Buffer) =>
  controlFrame(FrameType.SYN_STREAM, flags, Buffer.concat([u32(streamId & 0x7fffffff, 0), Buffer.from([0, 0]), block]));

/** A name/value block before compression: count, then length-prefixed names and values (multiple values NUL-separated). */
export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(value, 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed block into lower-case names (repeated values joined by NUL stay joined). */
export function decodeHeaderBlock(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  const fail = () => new SpdyProtocolError('malformed SPDY header block');
  if (block.length < 4) throw fail();
  const count = block.readUInt32BE(0);
  let at = 4;
  const field = () => {
    if (at + 4 > block.length) throw fail();
    const len = block.readUInt32BE(at);
    at += 4;
    if (at + len > block.length) throw fail();
    const text = block.toString('utf8', at, at + len);
    at += len;
    return text;
  };
  for (let i = 0; i < count; i++) {
    const name = field().toLowerCase();
    headers[name] = field();
  }
  return headers;
}
