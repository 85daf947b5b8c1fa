/**
 * Reading the CRI log format the runtime writes (`<RFC3339Nano> <stdout|stderr> <P|F> <text>`, a
 * P record continuing on the next line), as upstream's kuberuntime/logs does: since, timestamps,
 * limitBytes, tail, and follow across rotation. Following reads to the end, then waits: polling the
 * file every 200 ms picks up new lines and a rotation (the path naming another file: the old one
 * is read to its end first, then the new one from the start); once the container no longer runs,
 * what is left is read and the stream ends.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

export interface LogOptions {
  /** Skip records older than this (ms since the epoch). */
  since?: number;
  timestamps: boolean;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
  /** Start this many lines before the end. */
  tailLines?: number;
  follow: boolean;
}

export interface LogSink {
  write(data: Buffer): boolean | Promise<unknown>;
  /** True once the reader went away: stop. */
  readonly closed: boolean;
}

const POLL_MS = 200;
const CHUNK = 64 * 1024;

/** Go's RFC3339Nano output: the fraction without trailing zeros (none at all when zero). */
export function goRfc3339Nano(stamp: string): string {
  return stamp.replace(/\.(\d+)(?=Z|[+-]\d\d:\d\d$)/, (_, frac: string) => {
    const trimmed = frac.replace(/0+$/, '');
    return trimmed ? `.${trimmed}` : '';
  });
}

interface Record {
  stamp: string;
  time: number;
  partial: boolean;
  text: Buffer;
}

function parseRecord(line: Buffer): Record | undefined {
  const a = line.indexOf(0x20);
  const b = a < 0 ? -1 : line.indexOf(0x20, a + 1);
  const c = b < 0 ? -1 : line.indexOf(0x20, b + 1);
  if (c < 0) return undefined;
  const stamp = line.toString('latin1', 0, a);
  const time = Date.parse(stamp);
  if (Number.isNaN(time)) return undefined;
  const partial = line.toString('latin1', b + 1, c) === 'P';
  // A full record's text keeps its newline; a partial one continues on the next record.
  const text = partial ? line.subarray(c + 1) : Buffer.concat([line.subarray(c + 1), Buffer.from('\n')]);
  return { stamp, time, partial, text };
}

/** The offset where the last `lines` lines of an open file start. */
export function tailOffset(fd: number, size: number, lines: number): number {
  if (lines <= 0) return size;
  let end = size;
  let found = 0;
  const buf = Buffer.alloc(CHUNK);
  // A trailing newline ends the last line; it does not start another.
  let skipLast = true;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const n = readSync(fd, buf, 0, end - start, start);
    for (let i = n - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) {
        skipLast = false;
        continue;
      }
      if (skipLast) {
        skipLast = false;
        continue;
      }
      found++;
      if (found === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

/**
 * Streams a container's log into `sink`. `currentPath` names the file to follow (it may be
 * rotated); `running` says whether to keep following.
 */
export class CriLogReader {
  private fd: number;
  private offset = 0;
  private pending = Buffer.alloc(0);
  private remain: number;
  private newLine = true;

  constructor(
    private readonly path: string,
    private readonly options: LogOptions,
    private readonly sink: LogSink,
    private readonly running: () => Promise<boolean>,
  ) {
    this.fd = openSync(path, 'r');
    this.remain = options.limitBytes ?? Number.POSITIVE_INFINITY;
    if (options.tailLines !== undefined) this.offset = tailOffset(this.fd, fstatSync(this.fd).size, options.tailLines);
  }

  async run(): Promise<void> {
    try {
      let lastRunningCheck = 0;
      let stillRunning = true;
      for (;;) {
        if (!(await this.drain())) return;
        if (!this.options.follow || this.sink.closed) return;
        if (this.reopenIfRotated()) continue;
        if (!stillRunning) return;
        await new Promise((r) => setTimeout(r, POLL_MS));
        if (Date.now() - lastRunningCheck >= 1000) {
          lastRunningCheck = Date.now();
          // Not running any more: read what is left, then stop.
          stillRunning = await this.running();
        }
      }
    } finally {
      closeSync(this.fd);
    }
  }

  /** Reads to the current end; false when the limit was reached or the reader left. */
  private async drain(): Promise<boolean> {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      if (this.sink.closed) return false;
      const n = readSync(this.fd, buf, 0, CHUNK, this.offset);
      if (n === 0) return true;
      this.offset += n;
      let data = Buffer.concat([this.pending, buf.subarray(0, n)]);
      let nl = data.indexOf(0x0a);
      while (nl >= 0) {
        if (!(await this.emit(data.subarray(0, nl)))) return false;
        data = data.subarray(nl + 1);
        nl = data.indexOf(0x0a);
      }
      // An incomplete last line waits for the rest (upstream seeks back and reads it again).
      this.pending = Buffer.from(data);
    }
  }

  private async emit(line: Buffer): Promise<boolean> {
    const record = parseRecord(line);
    if (!record) return true;
    const addPrefix = this.newLine;
    this.newLine = !record.partial;
    if (this.options.since !== undefined && record.time < this.options.since) return true;
    let out = record.text;
    if (this.options.timestamps && addPrefix)
      out = Buffer.concat([Buffer.from(`${goRfc3339Nano(record.stamp)} `), out]);
    if (out.length > this.remain) out = out.subarray(0, this.remain);
    this.remain -= out.length;
    const wrote = this.sink.write(out);
    if (wrote instanceof Promise) await wrote;
    return this.remain > 0;
  }

  /** After a rotation the path names a new file: once the old one is read to its end, continue in the new one. */
  private reopenIfRotated(): boolean {
    try {
      const now = statSync(this.path);
      const open = fstatSync(this.fd);
      if (now.ino === open.ino && now.dev === open.dev) return false;
      closeSync(this.fd);
      this.fd = openSync(this.path, 'r');
      this.offset = 0;
      this.pending = Buffer.alloc(0);
      return true;
    } catch {
      return false;
    }
  }
}
