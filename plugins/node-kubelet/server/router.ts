/**
 * Which handler answers a path, as upstream's kubelet registers them (pkg/kubelet/server): the
 * handlers every server has (/healthz, /pods, /stats, /metrics, /spec — the read-only port serves
 * only these), and with --enable-debugging-handlers /runningpods/, /logs/, /containerLogs/, /run/,
 * /exec/, /attach/, /portForward/. Without them (and always on the read-only port) those answer
 * 405 "Debug endpoints are disabled.", as upstream's InstallDebuggingDisabledHandlers. Anything else
 * is 404.
 */
import { serveContainerLogs } from './container-logs.js';
import { type Exchange, getOnly, notFound, reply } from './exchange.js';
import {
  type HandlerContext,
  healthz,
  metrics,
  metricsResource,
  pods,
  run,
  runningPods,
  spec,
  statsRoot,
  statsSummary,
} from './handlers.js';
import { serveNodeLogs } from './node-logs.js';
import { type StreamingContext, serveCommand, servePortForward } from './streaming/endpoints.js';

export interface RouteContext extends HandlerContext {
  streaming: StreamingContext;
  nodeLogDir: string;
  debuggingHandlers: boolean;
}

const DEBUG_ROOTS = new Set(['runningpods', 'logs', 'containerLogs', 'run', 'exec', 'attach', 'portForward']);
const STREAMING_ROOTS = new Set(['exec', 'attach', 'portForward']);

/** Whether a path goes to a streaming endpoint (the only ones an upgrade is taken by). */
export const isStreamingPath = (path: string) => STREAMING_ROOTS.has(path.split('/')[1] ?? '');

/** /<root>/<ns>/<pod>[/<uid>]/<container>: upstream's two forms of the exec, attach and run paths. */
function containerTarget(parts: string[]) {
  if (parts.length === 4) return { namespace: parts[1]!, pod: parts[2]!, container: parts[3]! };
  if (parts.length === 5) return { namespace: parts[1]!, pod: parts[2]!, uid: parts[3]!, container: parts[4]! };
  return undefined;
}

export async function route(ex: Exchange, ctx: RouteContext, readOnly: boolean): Promise<void> {
  const parts = ex.path.split('/').filter(Boolean);
  const root = parts[0] ?? '';
  if (DEBUG_ROOTS.has(root) && (readOnly || !ctx.debuggingHandlers)) {
    return reply(ex, 405, 'Debug endpoints are disabled.\n');
  }
  switch (root) {
    case 'healthz':
      if (parts.length > 2) return notFound(ex);
      return getOnly(ex) ? healthz(ex, ctx, parts[1]) : undefined;
    case 'pods':
      if (parts.length !== 1) return notFound(ex);
      return getOnly(ex) ? pods(ex, ctx) : undefined;
    case 'stats':
      if (parts.length === 1) return getOnly(ex) ? statsRoot(ex, ctx) : undefined;
      if (parts.length === 2 && parts[1] === 'summary') return getOnly(ex) ? statsSummary(ex, ctx) : undefined;
      return notFound(ex);
    case 'metrics':
      if (parts.length === 1) return getOnly(ex) ? metrics(ex, ctx) : undefined;
      if (parts.length === 2 && parts[1] === 'resource') return getOnly(ex) ? metricsResource(ex, ctx) : undefined;
      return notFound(ex);
    case 'spec':
      if (parts.length !== 1) return notFound(ex);
      return getOnly(ex) ? spec(ex, ctx) : undefined;
    case 'runningpods':
      if (parts.length !== 1) return notFound(ex);
      return getOnly(ex) ? runningPods(ex, ctx) : undefined;
    case 'logs':
      return getOnly(ex) ? serveNodeLogs(ex, ctx.nodeLogDir) : undefined;
    case 'containerLogs': {
      if (parts.length !== 4) return notFound(ex);
      if (!getOnly(ex)) return;
      const target = { namespace: parts[1]!, pod: parts[2]!, container: parts[3]! };
      return serveContainerLogs(ex, ctx.state, target, () => ctx.streaming.limits.acquire());
    }
    case 'run': {
      const target = containerTarget(parts);
      if (!target) return notFound(ex);
      if (ex.method !== 'POST') return reply(ex, 405, 'Method Not Allowed', { Allow: 'POST' });
      return run(ex, ctx, target);
    }
    case 'exec':
    case 'attach': {
      const target = containerTarget(parts);
      if (!target) return notFound(ex);
      if (ex.method !== 'GET' && ex.method !== 'POST')
        return reply(ex, 405, 'Method Not Allowed', { Allow: 'GET, POST' });
      return serveCommand(ex, ctx.streaming, target, root);
    }
    case 'portForward': {
      if (parts.length !== 3 && parts.length !== 4) return notFound(ex);
      if (ex.method !== 'GET' && ex.method !== 'POST')
        return reply(ex, 405, 'Method Not Allowed', { Allow: 'GET, POST' });
      return servePortForward(ex, ctx.streaming, { namespace: parts[1]!, pod: parts[2]!, uid: parts[3] });
    }
    default:
      return notFound(ex);
  }
}
