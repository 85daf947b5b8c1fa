/**
 * A container's output: the runtime reads the FIFOs its shim holds open and writes each line to the
 * container's log in the CRI format upstream's kubelet reads (`<RFC3339Nano> <stream> <F|P> <text>`),
 * rotating by size as the kubelet's container log manager does (`<log>.<YYYYMMDD-HHMMSS>`, at most
 * maxFiles files in all). Attached sessions get the same bytes. While no runtime reads (it crashed),
 * the container's writes wait in the pipe; the next runtime on the same root dir reads on.
 */
import {
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { nowNanos, rfc3339Nano } from './state.js';

export type StreamName = 'stdout' | 'stderr';
export type OutputListener = (stream: StreamName, chunk: Buffer) => void;

/** Upstream's maximum CRI log line: longer lines are split into P(artial) records. */
const MAX_LINE = 16 * 1024;

export interface Rotation {
  maxSize: number;
  maxFiles: number;
}

export class CriLogWriter {
  private fd: number;
  private size: number;
  private readonly partial: Record<StreamName, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  constructor(
    readonly path: string,
    private readonly rotation: Rotation,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  write(stream: StreamName, chunk: Buffer): void {
    let data = this.partial[stream].length ? Buffer.concat([this.partial[stream], chunk]) : chunk;
    const stamp = rfc3339Nano(nowNanos());
    const records: string[] = [];
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
      records.push(...this.split(stamp, stream, data.subarray(0, nl), 'F'));
      data = data.subarray(nl + 1);
    }
    while (data.length > MAX_LINE) {
      records.push(`${stamp} ${stream} P ${data.subarray(0, MAX_LINE).toString()}\n`);
      data = data.subarray(MAX_LINE);
    }
    this.partial[stream] = Buffer.from(data);
    if (records.length) this.append(records);
  }

  /** At EOF, a line without its newline is still a whole line. */
  flush(stream: StreamName): void {
    if (!this.partial[stream].length) return;
    this.append([`${rfc3339Nano(nowNanos())} ${stream} F ${this.partial[stream].toString()}\n`]);
    this.partial[stream] = Buffer.alloc(0);
  }

  close(): void {
    this.flush('stdout');
    this.flush('stderr');
    closeSync(this.fd);
  }

  private split(stamp: string, stream: StreamName, line: Buffer, tag: 'F'): string[] {
    const out: string[] = [];
    let rest = line;
    while (rest.length > MAX_LINE) {
      out.push(`${stamp} ${stream} P ${rest.subarray(0, MAX_LINE).toString()}\n`);
      rest = rest.subarray(MAX_LINE);
    }
    out.push(`${stamp} ${stream} ${tag} ${rest.toString()}\n`);
    return out;
  }

  /** Whole records only; a record that would cross maxSize starts the next file. */
  private append(records: string[]): void {
    let batch = '';
    let batchBytes = 0;
    for (const record of records) {
      const bytes = Buffer.byteLength(record);
      if (this.size + batchBytes > 0 && this.size + batchBytes + bytes > this.rotation.maxSize) {
        if (batch) writeSync(this.fd, batch);
        this.size += batchBytes;
        batch = '';
        batchBytes = 0;
        this.rotate();
      }
      batch += record;
      batchBytes += bytes;
    }
    if (batch) writeSync(this.fd, batch);
    this.size += batchBytes;
  }

  private rotate(): void {
    closeSync(this.fd);
    renameSync(this.path, uniqueRotatedName(this.path));
    pruneRotated(this.path, this.rotation.maxFiles - 1);
    this.fd = openSync(this.path, 'a', 0o640);
    this.size = 0;
  }
}

function uniqueRotatedName(path: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let name = `${path}.${stamp}`;
  for (let n = 1; existsQuiet(name); n++) name = `${path}.${stamp}-${n}`;
  return name;
}

function existsQuiet(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A log's rotated files, oldest first. */
export function rotatedFiles(path: string): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  try {
    return readdirSync(dir)
      .filter((f) => f.startsWith(prefix))
      .map((f) => join(dir, f))
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs || a.localeCompare(b));
  } catch {
    return [];
  }
}

function pruneRotated(path: string, keep: number): void {
  const files = rotatedFiles(path);
  for (const file of files.slice(0, Math.max(0, files.length - keep))) rmSync(file, { force: true });
}

/** Bytes of a log and its rotated files. */
export function logBytes(path: string): number {
  return [path, ...rotatedFiles(path)].reduce((sum, f) => {
    try {
      return sum + statSync(f).size;
    } catch {
      return sum;
    }
  }, 0);
}

export function removeLogs(path: string): void {
  for (const f of [path, ...rotatedFiles(path)]) rmSync(f, { force: true });
}

/** Open a FIFO for reading without blocking the event loop (a libuv pipe, not the thread pool). */
export function openFifo(path: string, mode: 'read' | 'write'): Socket {
  const flags = (mode === 'read' ? constants.O_RDONLY : constants.O_WRONLY) | constants.O_NONBLOCK;
  const fd = openSync(path, flags);
  return new Socket({ fd, readable: mode === 'read', writable: mode === 'write' });
}

/** Reads a running container's stdout/stderr FIFOs into its log and to attached listeners. */
export class ContainerOutput {
  private readonly listeners = new Set<OutputListener>();
  private readonly readers: Socket[] = [];
  /** Resolves when both FIFOs reached EOF: the shim (and so the container) has exited. */
  readonly ended: Promise<void>;

  constructor(stateDir: string, writer: CriLogWriter) {
    const ends = (['stdout', 'stderr'] as const).map((stream) => {
      const reader = openFifo(join(stateDir, stream), 'read');
      this.readers.push(reader);
      reader.on('data', (chunk: Buffer) => {
        writer.write(stream, chunk);
        for (const listener of this.listeners) listener(stream, chunk);
      });
      return new Promise<void>((resolve) => {
        reader.on('end', () => {
          writer.flush(stream);
          resolve();
        });
        reader.on('close', () => resolve());
        reader.on('error', () => resolve());
      });
    });
    this.ended = Promise.all(ends).then(() => writer.close());
  }

  subscribe(listener: OutputListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stop reading (the runtime is closing); the container keeps running. */
  close(): void {
    for (const reader of this.readers) reader.destroy();
  }
}
