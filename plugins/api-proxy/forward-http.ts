/**
 * An ordinary (not upgrade) request through the proxy, as upstream's UpgradeAwareHandler serves
 * one: GET or HEAD of the bare proxy path is redirected to the path with a '/', everything else
 * goes to the backend with its method, body and query, and the answer streams back as it comes,
 * its redirect Location put back under the proxy path. Redirects are passed on, never followed.
 * A backend that cannot be reached, or does not start answering in time, is upstream's 503
 * "error trying to reach service".
 */
import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ConnectRequest } from 'skiff/sdk/api';
import { errors } from 'skiff/sdk/api';
import { requestHeaders, responseHeaders, rewriteLocation } from './headers.js';
import type { Backend } from './locations.js';

export interface ForwardOptions {
  dialTimeoutMs: number;
  responseHeaderTimeoutMs: number;
}

/** Turns a backend's error answer into a Status (pods/log, as upstream's GenericHttpResponseChecker). */
export type ResponseCheck = (code: number, body: string) => Error | undefined;

export interface Target {
  backend: Backend;
  /** The backend path and query: '/stats/?x=1'. */
  path: string;
  /** For Location rewriting: the client's path without the proxied part. */
  prefix: string;
  /** Set: a non-2xx answer is read (up to 50,000 bytes) and answered as the Status this gives. */
  check?: ResponseCheck;
}

const CHECKED_BODY_BYTES = 50_000;

const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/** Upstream's redirect of the bare proxy root (`…/proxy` → `…/proxy/`) for GET and HEAD. */
export function redirectsRoot(request: ConnectRequest, suffix: string): boolean {
  const method = request.req.method;
  if (suffix !== '' || (method !== 'GET' && method !== 'HEAD')) return false;
  const query = request.req.url?.includes('?') ? request.req.url.slice(request.req.url.indexOf('?')) : '';
  request.res.writeHead(301, { Location: `${request.rawPath}/${query}`, 'Content-Length': 0 });
  request.res.end();
  return true;
}

export function forwardHttp(request: ConnectRequest, target: Target, options: ForwardOptions): Promise<void> {
  const { backend } = target;
  const send = backend.scheme === 'https' ? httpsRequest : httpRequest;
  return new Promise<void>((resolve, reject) => {
    const outgoing = send({
      host: backend.host,
      port: backend.port,
      method: request.req.method,
      path: target.path,
      headers: requestHeaders(request.req, false).flat(),
      agent: backend.scheme === 'https' ? agents.https : agents.http,
      ...(backend.scheme === 'https' ? (backend.tls ?? { rejectUnauthorized: false }) : {}),
    });
    const failed = (err: Error) => {
      outgoing.destroy();
      reject(errors.serviceUnavailable(`error trying to reach service: ${err.message}`));
    };
    const timers = bound(outgoing, options, failed);
    outgoing.on('error', failed);
    outgoing.on('response', (answer) => {
      timers.clear();
      const code = answer.statusCode ?? 502;
      if (target.check && (code < 200 || code > 299)) return void checked(answer, target.check).then(reject, reject);
      relay(request, target, answer).then(resolve, reject);
    });
    // The client went away: so does the backend request.
    request.res.on('close', () => outgoing.destroy());
    request.req.pipe(outgoing);
  });
}

/** Dial and first-answer deadlines; cleared once the answer starts. */
function bound(outgoing: ClientRequest, options: ForwardOptions, failed: (err: Error) => void) {
  const answer = setTimeout(
    () => failed(new Error('timeout awaiting response headers')),
    options.responseHeaderTimeoutMs,
  );
  let dial: NodeJS.Timeout | undefined;
  outgoing.on('socket', (socket) => {
    // Small answers (and interactive streams) must not wait on Nagle and the peer's delayed ACK.
    socket.setNoDelay(true);
    if (!socket.connecting) return;
    dial = setTimeout(() => failed(new Error('dial timeout')), options.dialTimeoutMs);
    socket.once('connect', () => clearTimeout(dial));
  });
  return {
    clear() {
      clearTimeout(answer);
      clearTimeout(dial);
    },
  };
}

function relay(request: ConnectRequest, target: Target, answer: IncomingMessage): Promise<void> {
  const { res } = request;
  const backendHost = `${target.backend.host}:${target.backend.port}`;
  const rewrite = (location: string) =>
    rewriteLocation(location, { backendHost, requestHost: request.req.headers.host ?? '', prefix: target.prefix });
  const headers = responseHeaders(answer.headers, rewrite);
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(answer.statusCode ?? 502, answer.statusMessage);
  // A stream (no length: logs -f, a slow page) shows its headers at once; a sized answer goes out
  // with its body in one write.
  if (answer.headers['content-length'] === undefined) res.flushHeaders();
  return new Promise((resolve) => {
    answer.pipe(res);
    answer.on('end', resolve);
    answer.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      answer.destroy();
      resolve();
    });
  });
}

/** The error a checked backend answer stands for. */
function checked(answer: IncomingMessage, check: ResponseCheck): Promise<Error> {
  return new Promise((resolve) => {
    let body = '';
    answer.setEncoding('utf8');
    answer.on('data', (chunk: string) => {
      if (body.length < CHECKED_BODY_BYTES) body += chunk.slice(0, CHECKED_BODY_BYTES - body.length);
    });
    const done = () => resolve(check(answer.statusCode ?? 502, body) ?? new Error(body));
    answer.on('end', done);
    answer.on('error', done);
  });
}
