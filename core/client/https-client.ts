/**
 * The HTTPS ApiClient, for components in their own process (`skiff controller-manager`): the
 * interface and semantics of the in-process client, over keep-alive HTTPS with a client certificate
 * (or a bearer token). A non-2xx answer throws the StatusError the in-process client would throw,
 * so a controller cannot tell the two apart; an unreachable server throws a coded SkiffError, which
 * controllers and informers treat as "try again later".
 */
import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KubeObject } from '../api/types.js';
import { errors, SkiffError } from '../errors.js';
import { JsonLineDecoder, statusErrorOf, transportError } from './http-wire.js';
import { type ConnectionOptions, readKubeconfig } from './kubeconfig.js';
import { queryString, resourcePath } from './request-paths.js';
import { ResourceClient } from './resource-client.js';
import type { PatchType, ResourceRef, WatchEvent, WatchHandle, WatchOptions } from './types.js';

export type { ConnectionOptions } from './kubeconfig.js';

export interface HttpsClientOptions extends ConnectionOptions {
  userAgent?: string;
  /** Per ordinary request (default 60 s): a server that hangs must not hang a controller for ever. */
  requestTimeoutMs?: number;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};
const DEFAULT_TIMEOUT_MS = 60_000;
// HTTP/1.1 has one request per connection at a time: a burst would otherwise open (and TLS-handshake)
// a connection per request. Watches hold theirs for as long as they run, so they get their own pool.
const MAX_REQUEST_CONNECTIONS = 16;
// A watch may be silent for an hour, so only the wait for its response headers is bounded.
const WATCH_HEADERS_TIMEOUT_MS = 30_000;

interface Pools {
  requests: HttpAgent;
  watches: HttpAgent;
  /** Set by close(): later requests fail at once rather than open new connections. */
  closed?: boolean;
}

interface Answer {
  status: number;
  text: string;
}

/** A client from a kubeconfig file; `server` (upstream's --master) overrides the file's. */
export function fromKubeconfig(path: string, overrides: Partial<HttpsClientOptions> = {}): HttpsClient {
  return new HttpsClient({ ...readKubeconfig(path), ...stripUndefined(overrides) });
}

const stripUndefined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export class HttpsClient extends ResourceClient {
  private readonly base: URL;
  private readonly pools: Pools;
  private readonly headers: Record<string, string>;

  constructor(
    readonly options: HttpsClientOptions,
    pools?: Pools,
  ) {
    super();
    this.base = serverUrl(options.server);
    this.pools = pools ?? {
      requests: newAgent(this.base, options, MAX_REQUEST_CONNECTIONS),
      watches: newAgent(this.base, options, Number.POSITIVE_INFINITY),
    };
    this.headers = { Accept: 'application/json', 'User-Agent': options.userAgent ?? 'skiff' };
    if (options.token) this.headers.Authorization = `Bearer ${options.token}`;
    else if (options.username !== undefined) {
      const basic = Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64');
      this.headers.Authorization = `Basic ${basic}`;
    }
  }

  /** The same connection pools and credentials, another User-Agent (one per controller, as upstream). */
  withUserAgent(userAgent: string): HttpsClient {
    return new HttpsClient({ ...this.options, userAgent }, this.pools);
  }

  /**
   * Closes the pooled connections, watches included, and refuses new requests: a controller that
   * is stopping cannot then start a watch that nothing would end. The process can exit after.
   */
  close(): void {
    this.pools.closed = true;
    this.pools.requests.destroy();
    this.pools.watches.destroy();
  }

  get server(): string {
    return this.base.origin;
  }

  get closed(): boolean {
    return this.pools.closed === true;
  }

  /** GET of any path (discovery documents); errors as for resources. */
  getPath<T>(path: string): Promise<T> {
    return this.call('GET', path);
  }

  protected request<T>(
    method: string,
    path: string,
    query: URLSearchParams,
    body?: unknown,
    patchType?: PatchType,
  ): Promise<T> {
    const q = query.toString();
    return this.call(method, q ? `${path}?${q}` : path, body, patchType && PATCH_CONTENT_TYPES[patchType]);
  }

  override watch(
    r: ResourceRef,
    namespace: string,
    options: WatchOptions,
    onEvent: (e: WatchEvent) => void,
  ): WatchHandle {
    const target = resourcePath(r, namespace) + queryString({ ...options, watch: 'true' });
    return new HttpWatch(this, target, options.timeoutSeconds, onEvent).handle;
  }

  private async call<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const answer = await this.exchange(method, path, payload, contentType);
    if (answer.status < 200 || answer.status > 299) throw statusErrorOf(answer.status, answer.text);
    try {
      return JSON.parse(answer.text) as T;
    } catch {
      throw new SkiffError(
        'SKIFF_API_BAD_RESPONSE',
        `${method} ${path} on ${this.server} answered ${answer.status} with a body that is not JSON`,
        'check that --master or the kubeconfig points at a Kubernetes API server',
      );
    }
  }

  private exchange(method: string, path: string, payload: Buffer | undefined, contentType: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      if (this.pools.closed) return reject(closedError());
      const headers: Record<string, string | number> = {};
      if (payload) Object.assign(headers, { 'Content-Type': contentType, 'Content-Length': payload.length });
      const req = this.open(method, path, headers, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(transportError(this.server, err)));
        // Settles nothing when the answer was complete; otherwise the server went away mid-answer.
        res.on('close', () => {
          if (!res.complete) reject(transportError(this.server, cut()));
        });
      });
      const timeout = this.options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
      req.setTimeout(timeout, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A pooled connection the server closed while idle: the request never reached it, so
        // sending it again is safe (not for a create, where "never reached" cannot be proven).
        if (req.reusedSocket && err.code === 'ECONNRESET' && method !== 'POST') {
          this.exchange(method, path, payload, contentType).then(resolve, reject);
        } else reject(transportError(this.server, err));
      });
      req.end(payload);
    });
  }

  /** One request with this client's credentials, on the pool for ordinary requests or for watches. */
  open(
    method: string,
    path: string,
    headers: Record<string, string | number>,
    onResponse: (res: IncomingMessage) => void,
    pool: keyof Pools = 'requests',
  ): ClientRequest {
    const send = this.base.protocol === 'https:' ? httpsRequest : httpRequest;
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    return send(url, { method, headers: { ...this.headers, ...headers }, agent: this.pools[pool] }, onResponse);
  }
}

/** One streaming GET ?watch=true: JSON lines in order until stopped, timed out or closed. */
class HttpWatch {
  readonly handle: WatchHandle;
  private stopped = false;
  private responded = false;
  private readonly req?: ClientRequest;
  private readonly timer?: NodeJS.Timeout;
  private resolveDone!: () => void;

  constructor(
    client: HttpsClient,
    target: string,
    timeoutSeconds: number | undefined,
    private readonly onEvent: (e: WatchEvent) => void,
  ) {
    const done = new Promise<void>((res) => {
      this.resolveDone = res;
    });
    this.handle = { stop: () => this.stop(), done };
    if (client.closed) {
      queueMicrotask(() => {
        this.deliver({ type: 'ERROR', object: asStatusObject(closedError()) });
        this.stop();
      });
      return;
    }
    if (timeoutSeconds) this.timer = setTimeout(() => this.stop(), timeoutSeconds * 1000);
    const req = client.open('GET', target, {}, (res) => this.receive(res), 'watches');
    this.req = req;
    const headersTimer = setTimeout(() => {
      if (!this.responded) req.destroy(Object.assign(new Error('no answer to the watch'), { code: 'ETIMEDOUT' }));
    }, WATCH_HEADERS_TIMEOUT_MS);
    this.handle.done.then(() => clearTimeout(headersTimer));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // Before an answer, as the in-process client does: an ERROR event, then the end. After one,
      // a broken connection just ends the watch, as a server closing it would.
      if (!this.responded) this.deliver({ type: 'ERROR', object: unreachable(client.server, err) });
      this.stop();
    });
    req.end();
  }

  private deliver(e: WatchEvent): void {
    if (!this.stopped) this.onEvent(e);
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.req?.destroy();
    this.resolveDone();
  }

  private receive(res: IncomingMessage): void {
    this.responded = true;
    res.on('error', () => this.stop());
    res.on('close', () => this.stop());
    if (res.statusCode !== 200) {
      this.refused(res);
      return;
    }
    const decoder = new JsonLineDecoder();
    const take = (read: () => unknown[]) => {
      try {
        for (const e of read()) this.deliver(e as WatchEvent);
      } catch (err) {
        const status = errors.internal(`the watch stream is not JSON lines: ${(err as Error).message}`).toStatus();
        this.deliver({ type: 'ERROR', object: status as unknown as KubeObject });
        this.stop();
      }
    };
    res.on('data', (chunk: Buffer) => take(() => decoder.push(chunk)));
    res.on('end', () => {
      take(() => decoder.end());
      this.stop();
    });
  }

  /** The watch was not accepted (403, 410, ...): its Status as one ERROR event, like in-process. */
  private refused(res: IncomingMessage): void {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const status = statusErrorOf(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')).toStatus();
      this.deliver({ type: 'ERROR', object: status as unknown as KubeObject });
      this.stop();
    });
  }
}

const cut = () => Object.assign(new Error('the connection closed mid-answer'), { code: 'ECONNRESET' });

function unreachable(server: string, err: NodeJS.ErrnoException): KubeObject {
  return asStatusObject(transportError(server, err));
}

/** A coded error as the Status of a watch's ERROR event (503: the API could not be asked). */
const asStatusObject = (e: SkiffError) =>
  errors.serviceUnavailable(`${e.message} (${e.code})`).toStatus() as unknown as KubeObject;

const closedError = () =>
  new SkiffError('SKIFF_API_CLIENT_CLOSED', 'this API client was closed', 'make a new client to talk to the API again');

function serverUrl(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SkiffError(
      'SKIFF_API_SERVER_URL',
      `"${server}" is not an http(s) URL of an API server`,
      'give the API server as https://host:port (--master, or server: in the kubeconfig)',
    );
  }
  return url;
}

function newAgent(base: URL, o: ConnectionOptions, maxSockets: number): HttpAgent {
  if (base.protocol === 'http:') return new HttpAgent({ keepAlive: true, maxSockets });
  return new HttpsAgent({
    keepAlive: true,
    maxSockets,
    ca: o.ca,
    cert: o.cert,
    key: o.key,
    servername: o.servername,
    rejectUnauthorized: !o.insecureSkipTlsVerify,
  });
}
