/**
 * The streams of an exec or attach, over either transport upstream's kubelet serves:
 *
 * - WebSocket (remotecommand/websocket.go): channels 0 stdin, 1 stdout, 2 stderr, 3 error (the
 *   status), 4 resize, on subprotocols v5.channel.k8s.io, v4.channel.k8s.io,
 *   v4.base64.channel.k8s.io, channel.k8s.io, base64.channel.k8s.io (or none: binary channels). An
 *   empty message on the first output channel tells the client the streams are ready.
 * - SPDY/3.1 (remotecommand/httpstream.go), X-Stream-Protocol-Version v5/v4/v3/v2.channel.k8s.io or
 *   channel.k8s.io: the client opens one stream per channel, named by its streamType header
 *   (error, stdin, stdout, stderr, resize from v3 with a tty), within 30 s.
 */
import type { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import { ChannelConnection, channelProtocol } from './channels.js';
import type { CommandStreams, OutputChannel } from './remote-command.js';
import type { SpdySession, SpdyStream } from './spdy-session.js';

export const WS_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
  '',
];

/** SPDY: v5 is v4 there (the close signal is WebSocket's). */
export const SPDY_COMMAND_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
];

const STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface CommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

const CH = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;

export async function webSocketStreams(
  ws: WebSocket,
  protocol: string,
  opts: CommandOptions,
  idleTimeoutMs: number,
): Promise<CommandStreams> {
  const readable = [...(opts.stdin ? [CH.stdin] : []), CH.resize];
  const conn = new ChannelConnection(ws, channelProtocol(protocol), readable, idleTimeoutMs);
  const output = (channel: number): OutputChannel => ({
    write: (data) => conn.write(channel, data),
    end: async () => {},
  });
  await conn.write(opts.stdout ? CH.stdout : opts.stderr ? CH.stderr : CH.error, Buffer.alloc(0));
  return {
    stdin: opts.stdin ? conn.reader(CH.stdin) : undefined,
    stdout: opts.stdout ? output(CH.stdout) : undefined,
    stderr: opts.stderr ? output(CH.stderr) : undefined,
    resize: opts.tty ? conn.reader(CH.resize) : undefined,
    error: output(CH.error),
    jsonStatus: protocol.startsWith('v4.') || protocol.startsWith('v5.'),
    gone: conn.closed,
    close: () => conn.close(),
  };
}

function streamOutput(stream: SpdyStream): OutputChannel {
  return {
    write: (data) =>
      new Promise((resolve) => {
        if (stream.destroyed || stream.writableEnded) resolve();
        else stream.write(data, () => resolve());
      }),
    end: () =>
      new Promise((resolve) => {
        if (stream.destroyed || stream.writableEnded) resolve();
        else stream.end(() => resolve());
      }),
  };
}

/** Waits for the streams the options call for; undefined when the client did not open them in time. */
export async function spdyStreams(
  session: SpdySession,
  protocol: string,
  opts: CommandOptions,
): Promise<CommandStreams | undefined> {
  const resizable = !['v2.channel.k8s.io', 'channel.k8s.io', ''].includes(protocol);
  const wanted = new Set<string>(['error']);
  if (opts.stdin) wanted.add('stdin');
  if (opts.stdout) wanted.add('stdout');
  if (opts.stderr) wanted.add('stderr');
  if (opts.tty && resizable) wanted.add('resize');
  const got = new Map<string, SpdyStream>();
  const gone = new Promise<void>((resolve) => session.on('close', resolve));
  const complete = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), STREAM_CREATION_TIMEOUT_MS);
    timer.unref();
    session.on('stream', (stream) => {
      const type = stream.headers.streamtype ?? '';
      if (!wanted.has(type) || got.has(type)) {
        stream.destroy();
        return;
      }
      got.set(type, stream);
      if (got.size === wanted.size) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    void gone.then(() => resolve(false));
  });
  if (!complete) {
    session.close();
    return undefined;
  }
  const stream = (type: string) => got.get(type);
  const stdin: Readable | undefined = stream('stdin');
  return {
    stdin,
    stdout: stream('stdout') && streamOutput(stream('stdout')!),
    stderr: stream('stderr') && streamOutput(stream('stderr')!),
    resize: stream('resize'),
    error: streamOutput(stream('error')!),
    jsonStatus: protocol.startsWith('v4.') || protocol.startsWith('v5.'),
    gone,
    close: () => session.close(),
  };
}
