/**
 * exec and attach, whatever the transport (k8s.io/kubelet cri/streaming/remotecommand): the
 * client's stdin goes to the session, its stdout and stderr come back, resize messages
 * ({"Width":80,"Height":24} JSON, one after another) resize its terminal, and when it ends the
 * status goes out on the error channel — for v4 and later a metav1.Status (Success, or Failure
 * with reason NonZeroExitCode and the exit code as a cause of type ExitCode), for older protocols
 * only a failure's text. Then the connection closes. A client that goes away ends the session (an
 * exec's process is killed; an attached container keeps running).
 */
import type { Readable } from 'node:stream';
import type { StreamSession } from 'skiff/sdk/runtime';

/** One direction of output (stdout, stderr, the error channel) toward the client. */
export interface OutputChannel {
  write(data: Buffer): Promise<void>;
  end(): Promise<void>;
}

export interface CommandStreams {
  stdin?: Readable;
  stdout?: OutputChannel;
  stderr?: OutputChannel;
  resize?: Readable;
  error: OutputChannel;
  /** v4 and later: the status is JSON; before: only a failure's message, as text. */
  jsonStatus: boolean;
  /** Resolves when the client has gone away (the connection closed). */
  gone: Promise<void>;
  close(): void;
}

/** How long output may still flow after the command exited. */
const OUTPUT_GRACE_MS = 5000;

export interface Status {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

export const successStatus = (): Status => ({ metadata: {}, status: 'Success' });

export function exitStatus(command: string[], exitCode: number): Status {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

export function internalErrorStatus(message: string): Status {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}

async function pump(from: Readable | undefined, to: OutputChannel | undefined): Promise<void> {
  if (!from) return;
  if (!to) {
    from.resume();
    return;
  }
  try {
    for await (const chunk of from) await to.write(chunk as Buffer);
  } catch {
    // The session's output broke off (the process was killed): what was read went out.
  }
}

/** Reads `{"Width":…,"Height":…}` objects one after another, as Go's json.Decoder does. */
export async function readResizes(from: Readable, onSize: (width: number, height: number) => void): Promise<void> {
  let text = '';
  for await (const chunk of from) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > 64 * 1024) return; // not a resize stream
    for (;;) {
      const end = text.indexOf('}');
      if (end < 0) break;
      const one = text.slice(text.indexOf('{'), end + 1);
      text = text.slice(end + 1);
      try {
        const size = JSON.parse(one) as { Width?: unknown; Height?: unknown };
        if (typeof size.Width === 'number' && typeof size.Height === 'number') onSize(size.Width, size.Height);
      } catch {}
    }
  }
}

export async function writeStatus(streams: CommandStreams, status: Status): Promise<void> {
  if (streams.jsonStatus) await streams.error.write(Buffer.from(JSON.stringify(status)));
  else if (status.status !== 'Success') await streams.error.write(Buffer.from(status.message ?? 'error'));
}

/**
 * Bridges a runtime session and a client's streams until the session ends or the client leaves,
 * then writes the status and closes. `statusOf` turns the exit code into the status to send.
 */
export async function runSession(
  session: StreamSession,
  streams: CommandStreams,
  statusOf: (exitCode: number) => Status,
): Promise<void> {
  if (streams.stdin && session.stdin) {
    const sink = session.stdin;
    sink.on('error', () => undefined);
    streams.stdin.pipe(sink);
  } else {
    streams.stdin?.resume();
  }
  if (streams.resize) void readResizes(streams.resize, (width, height) => session.resize({ width, height }));
  const output = Promise.all([pump(session.stdout, streams.stdout), pump(session.stderr, streams.stderr)]);
  let clientLeft = false;
  void streams.gone.then(() => {
    clientLeft = true;
    session.close();
  });
  let status: Status;
  try {
    const { exitCode } = await session.exit;
    status = statusOf(exitCode);
  } catch (err) {
    status = internalErrorStatus((err as Error).message);
  }
  if (clientLeft) return;
  // Output ends with the process; a child it left holding stdout open does not hold the stream.
  await Promise.race([output, new Promise((r) => setTimeout(r, OUTPUT_GRACE_MS).unref())]);
  if (clientLeft) return;
  await Promise.all([streams.stdout?.end(), streams.stderr?.end()]);
  await writeStatus(streams, status);
  await streams.error.end();
  streams.close();
}
