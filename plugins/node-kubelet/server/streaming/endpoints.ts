/**
 * /exec, /attach and /portForward (with --enable-debugging-handlers): find the pod and the
 * container, take a slot among --streaming connections, upgrade (WebSocket or SPDY/3.1), and only
 * then start the runtime's session, so a client that never completes its streams starts nothing.
 * Paths as upstream: /exec/<namespace>/<pod>[/<uid>]/<container>?command=…&stdin=1&stdout=1&
 * stderr=1&tty=1, the same for /attach without command, /portForward/<namespace>/<pod>[/<uid>].
 */
import type { Logger } from 'pino';
import { isRuntimeError } from 'skiff/sdk/runtime';
import type { KubeletState } from '../../kubelet.js';
import { instancesOf, readySandbox } from '../../pod-state.js';
import { type Exchange, reply } from '../exchange.js';
import {
  type CommandOptions,
  SPDY_COMMAND_PROTOCOLS,
  spdyStreams,
  WS_COMMAND_PROTOCOLS,
  webSocketStreams,
} from './command-transports.js';
import {
  type ForwardTarget,
  portsFromQuery,
  SPDY_PORT_FORWARD_PROTOCOLS,
  serveSpdyPortForward,
  serveTunnel,
  serveWebSocketPortForward,
  TUNNEL_PROTOCOL,
  WS_PORT_FORWARD_PROTOCOLS,
} from './port-forward.js';
import { type CommandStreams, exitStatus, runSession, successStatus } from './remote-command.js';
import { SpdySession } from './spdy-session.js';
import { acceptSpdy, isSpdy, isWebSocket, type WebSocketUpgrader } from './upgrade.js';

export interface StreamingContext {
  state: KubeletState;
  upgrader: WebSocketUpgrader;
  limits: ConnectionLimit;
  idleTimeoutMs: number;
  maxStreamsPerConnection: number;
  logger: Logger;
}

/** Streaming connections open at once on this kubelet. */
export class ConnectionLimit {
  private active = 0;
  constructor(readonly max: number) {}
  get count(): number {
    return this.active;
  }
  acquire(): (() => void) | undefined {
    if (this.active >= this.max) return undefined;
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
    };
  }
}

/** "1" as upstream reads these flags; "true" too, as the API's PodExecOptions spell them. */
const flag = (q: URLSearchParams, name: string) => ['1', 'true'].includes(q.get(name) ?? '');

function commandOptions(q: URLSearchParams): CommandOptions | string {
  const tty = flag(q, 'tty');
  const opts = { stdin: flag(q, 'stdin'), stdout: flag(q, 'stdout'), stderr: flag(q, 'stderr') && !tty, tty };
  if (!opts.stdin && !opts.stdout && !opts.stderr) return 'you must specify at least 1 of stdin, stdout, stderr';
  return opts;
}

interface Target {
  namespace: string;
  pod: string;
  uid?: string;
  container?: string;
}

/** The pod, checked against the uid when the path names one; undefined after answering 404. */
function findPod(ex: Exchange, state: KubeletState, t: Target) {
  const pod = state.pod(t.namespace, t.pod);
  if (!pod) reply(ex, 404, 'pod does not exist');
  else if (t.uid && pod.metadata?.uid !== t.uid) reply(ex, 404, 'pod not found');
  else return pod;
  return undefined;
}

export async function serveCommand(
  ex: Exchange,
  ctx: StreamingContext,
  t: Target,
  kind: 'exec' | 'attach',
): Promise<void> {
  const opts = commandOptions(ex.query);
  if (typeof opts === 'string') return reply(ex, 400, opts);
  const command = ex.query.getAll('command');
  if (kind === 'exec' && !command.length) return reply(ex, 400, 'you must specify a command');
  const pod = findPod(ex, ctx.state, t);
  if (!pod) return;
  const state = await ctx.state.runtimeState(pod.metadata?.uid ?? '');
  const container = instancesOf(state, t.container ?? '').current;
  if (container?.state !== 'running') return reply(ex, 404, `container not found ("${t.container}")`);
  const transport = isWebSocket(ex.req) ? 'ws' : isSpdy(ex.req) ? 'spdy' : undefined;
  if (!transport || !ex.upgrade) return reply(ex, 400, 'Upgrade request required');
  const release = ctx.limits.acquire();
  if (!release)
    return reply(ex, 429, `too many streaming connections (${ctx.limits.max}); try again later`, {
      'Retry-After': '1',
    });
  let streams: CommandStreams | undefined;
  try {
    streams = await openCommandStreams(ex, ctx, transport, opts);
    if (!streams) return;
    // The slot counts connections: it is free once the client's is gone, while the command is still
    // being killed and its last output drained.
    void streams.gone.then(release);
    const runtime = ctx.state.runtime;
    const session =
      kind === 'exec' ? await runtime.exec(container.id, command, opts) : await runtime.attach(container.id, opts);
    await runSession(
      session,
      streams,
      kind === 'exec' ? (code) => (code ? exitStatus(command, code) : successStatus()) : successStatus,
    );
  } catch (err) {
    ctx.logger.debug({ err, container: t.container }, `${kind} failed`);
    if (streams) await failStreams(streams, err as Error);
  } finally {
    release();
  }
}

async function openCommandStreams(
  ex: Exchange,
  ctx: StreamingContext,
  transport: 'ws' | 'spdy',
  opts: CommandOptions,
): Promise<CommandStreams | undefined> {
  if (transport === 'ws') {
    const accepted = await ctx.upgrader.accept(ex, WS_COMMAND_PROTOCOLS);
    return accepted && webSocketStreams(accepted.ws, accepted.protocol, opts, ctx.idleTimeoutMs);
  }
  const accepted = acceptSpdy(ex, SPDY_COMMAND_PROTOCOLS);
  if (!accepted) return undefined;
  const session = new SpdySession(accepted.socket, {
    maxStreams: ctx.maxStreamsPerConnection,
    idleTimeoutMs: ctx.idleTimeoutMs,
  });
  return spdyStreams(session, accepted.protocol, opts);
}

/** The session could not start (the container stopped meanwhile): the error goes out as the status. */
async function failStreams(streams: CommandStreams, err: Error): Promise<void> {
  const message = isRuntimeError(err) ? err.message : `error executing command in container: ${err.message}`;
  const status = { metadata: {}, status: 'Failure' as const, message, reason: 'InternalError', code: 500 };
  try {
    if (streams.jsonStatus) await streams.error.write(Buffer.from(JSON.stringify(status)));
    else await streams.error.write(Buffer.from(message));
    await streams.error.end();
  } finally {
    streams.close();
  }
}

export async function servePortForward(ex: Exchange, ctx: StreamingContext, t: Target): Promise<void> {
  const pod = findPod(ex, ctx.state, t);
  if (!pod) return;
  const uid = pod.metadata?.uid ?? '';
  const sandbox = readySandbox(await ctx.state.runtimeState(uid));
  if (!sandbox) return reply(ex, 404, `pod ${t.pod} has no running sandbox`);
  const target: ForwardTarget = {
    podName: pod.metadata?.name ?? t.pod,
    podUid: uid,
    dial: (port) => ctx.state.runtime.portForward(sandbox.id, port),
  };
  const ws = isWebSocket(ex.req);
  if (!ex.upgrade || (!ws && !isSpdy(ex.req))) return reply(ex, 400, 'Upgrade request required');
  const tunnel = ws && (ex.req.headers['sec-websocket-protocol'] ?? '').includes(TUNNEL_PROTOCOL);
  const ports = ws && !tunnel ? portsFromQuery(ex.query.getAll('port')) : [];
  if (typeof ports === 'string') return reply(ex, 400, ports);
  const release = ctx.limits.acquire();
  if (!release)
    return reply(ex, 429, `too many streaming connections (${ctx.limits.max}); try again later`, {
      'Retry-After': '1',
    });
  const spdyOptions = { maxStreams: ctx.maxStreamsPerConnection, idleTimeoutMs: ctx.idleTimeoutMs };
  try {
    if (ws) {
      const accepted = await ctx.upgrader.accept(ex, tunnel ? [TUNNEL_PROTOCOL] : WS_PORT_FORWARD_PROTOCOLS);
      if (!accepted) return;
      if (tunnel) await closed(serveTunnel(accepted.ws, target, spdyOptions));
      else await serveWebSocketPortForward(accepted.ws, accepted.protocol, ports, target, ctx.idleTimeoutMs);
      return;
    }
    const accepted = acceptSpdy(ex, SPDY_PORT_FORWARD_PROTOCOLS);
    if (accepted) await closed(serveSpdyPortForward(accepted.socket, target, spdyOptions));
  } finally {
    release();
  }
}

const closed = (session: SpdySession) => new Promise<void>((resolve) => session.on('close', resolve));
