/**
 * The HTTP face of the API server: a koa app. Every request is parsed into a RequestInfo,
 * authenticated (impersonation resolved), given its in-flight slot and authorized, in upstream's
 * filter order, and only then served: by a non-resource route (discovery, health, metrics, plugin
 * routes such as OpenAPI) or by the ApiService, after its body is read and decoded. Bodies and
 * answers are JSON (YAML bodies too) or a media type a plugin's serializer speaks (protobuf). A
 * refused request never has its body read. Every error leaves as a metav1.Status.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { ApiService, PatchType } from '../api/api-service.js';
import type { ResourceRegistry } from '../api/registry.js';
import { parseRequestInfo, type RequestInfo } from '../api/request-info.js';
import { apiVersionOf, type KubeObject, type ResourceDefinition } from '../api/types.js';
import { type CacheEvent, makeEvent } from '../api/watch-cache.js';
import type { AuditRecord, Authenticated, Transport, UserInfo } from '../auth-types.js';
import { runAuthentication } from '../chains.js';
import { encodeStatus, errors, type FieldError, fieldErrorBody, isStatusError, StatusError } from '../errors.js';
import type { Hooks } from '../hooks.js';
import { duplicateFields } from '../wire/duplicate-fields.js';
import { messageForKind } from '../wire/schema.js';
import type { Serializer } from '../wire/serializer.js';
import { dropUnknownFields, type FieldValidation, fieldValidationOf } from '../wire/unknown-fields.js';
import { auditAuthenticated, auditStatus, emitAudit, startAudit } from './audit.js';
import { type DecodedBody, decodeBody, mediaTypeOf, readBody } from './body.js';
import { PUBLIC_INFO_PATHS } from './core-authorizers.js';
import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { aggregatedDiscovery, discoveryContentType, wantsAggregated } from './discovery-v2.js';
import { encodeJson, encodeTable } from './encode.js';
import { type HealthCheck, runHealth } from './health.js';
import { impersonate, wantsImpersonation } from './impersonation.js';
import type { BodyAccount, BodyBudget, InflightLimiter, RequestKind } from './inflight.js';
import { MediaTypes, type ResponseFormat } from './media-types.js';
import type { ApiMetrics } from './metrics.js';
import { includeObjectOf, toTable, wantsTable } from './table.js';
import { warningsOf } from './warnings.js';
import { openWatchStream, type WatchEncoding, type WatchStream } from './watch-stream.js';

export interface HttpAppDeps {
  api: ApiService;
  registry: ResourceRegistry;
  hooks: Hooks;
  metrics: ApiMetrics;
  healthChecks: HealthCheck[];
  logger: Logger;
  maxRequestBodyBytes: number;
  /** Load shedding: --max-requests-inflight / --max-mutating-requests-inflight. */
  inflight: InflightLimiter;
  /** The request-body bytes held at once (server.maxInflightBodyBytes). */
  bodyBudget: BodyBudget;
  advertise: string;
  /** WWW-Authenticate values plugins contributed (basic auth's realm): every 401 carries them. */
  authChallenges: readonly string[];
  /** Media types plugins contributed beside JSON and YAML (wire-protobuf's protobuf). */
  serializers: readonly Serializer[];
}

interface State {
  info?: RequestInfo;
  user?: UserInfo;
  query: URLSearchParams;
  audit?: AuditRecord;
  /** The body bytes this request holds in the server's budget, given back when it ends. */
  bodies?: BodyAccount;
}

/** Which listener a socket came from: set by the server on each listener's connections. */
export const TRANSPORT = Symbol('skiff.transport');

const PEER = Symbol('skiff.peerCertificates');

/**
 * The client certificate of a TLS connection, read once per connection: keep-alive requests share
 * it, and authenticators may cache their verdict on the very same Buffer (WeakMap).
 */
function peerCertificatesOf(socket: TLSSocket): Buffer[] | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cached = socket as unknown as Record<symbol, Buffer[] | null>;
  if (cached[PEER] === undefined) {
    const peer = socket.getPeerCertificate(false);
    cached[PEER] = peer?.raw ? [peer.raw] : null;
  }
  return cached[PEER] ?? undefined;
}

function transportOf(req: IncomingMessage): Transport {
  return ((req.socket as unknown as Record<symbol, Transport>)[TRANSPORT] ?? 'insecure') as Transport;
}

export class HttpApp {
  readonly koa = new Koa();
  private readonly media: MediaTypes;
  private readonly watches = new Set<WatchStream>();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: HttpAppDeps) {
    this.media = new MediaTypes(deps.serializers);
    const router = this.routes();
    // Resource requests (the hot path) skip the router of non-resource paths altogether.
    const routes = router.routes();
    const allowed = router.allowedMethods();
    const route = (ctx: Koa.Context, next: () => Promise<unknown>) => {
      if ((ctx.state as State).info!.resourceRequest) return this.serveResource(ctx);
      const routed = ctx as never;
      return routes(routed, () => allowed(routed, () => next()));
    };
    // One middleware for what every request goes through, so the hot path pays one koa dispatch.
    this.koa.use(async (ctx, next) => {
      const started = performance.now();
      const state = ctx.state as State;
      state.query = new URLSearchParams(ctx.querystring);
      state.audit = startAudit(deps.hooks, ctx);
      this.inFlight++;
      let slot: RequestKind | undefined;
      try {
        await this.authenticate(ctx);
        slot = this.admit(state);
        // Upstream's filter order: authentication, impersonation, max-in-flight, authorization, and
        // only then the handler, which reads the body: a refused user never gets a body parsed.
        await deps.api.authorize(state.info!, state.user!, state.audit);
        await route(ctx, next);
      } catch (err) {
        this.writeError(ctx, err);
      } finally {
        if (slot) deps.inflight.release(slot);
        state.bodies?.release();
        if (state.audit) this.finishAudit(state.audit, ctx);
        deps.metrics.observe(state.info, state.query.has('dryRun'), ctx.status, (performance.now() - started) / 1000);
        this.inFlight--;
        if (this.inFlight === 0) for (const r of this.idleWaiters.splice(0)) r();
      }
    });
    this.koa.use(() => {
      throw errors.notFoundPath();
    });
  }

  callback() {
    return this.koa.callback();
  }

  /** End every open watch (shutdown). */
  closeWatches(): void {
    for (const w of this.watches) w.end();
  }

  /** Resolves when no ordinary request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private writeError(ctx: Koa.Context, err: unknown): void {
    const status = isStatusError(err) ? err : this.unexpected(err);
    ctx.status = status.code;
    const body = status.toStatus();
    const audit = (ctx.state as State).audit;
    if (audit) auditStatus(audit, status.code, body);
    // In the client's media type when it takes no JSON and the serializer has a form for a Status;
    // JSON when it has none, or fails (its failure may be what is being answered).
    const format = this.media.negotiate(ctx.get('Accept'));
    let bytes: Buffer | undefined;
    try {
      bytes = serialized(format, body);
    } catch (err) {
      this.deps.logger.error({ err }, 'a serializer failed to encode a Status; answering in JSON');
    }
    ctx.set('Content-Type', bytes ? (format as Serializer).mediaType : 'application/json');
    ctx.body = bytes ?? Buffer.from(encodeStatus(body));
    if (status.code === 401 && this.deps.authChallenges.length) {
      ctx.set('WWW-Authenticate', [...this.deps.authChallenges]);
    }
    if (status.details?.retryAfterSeconds) ctx.set('Retry-After', String(status.details.retryAfterSeconds));
  }

  private unexpected(err: unknown): StatusError {
    this.deps.logger.error({ err }, 'unexpected error while serving a request');
    return errors.internal((err as Error)?.message ?? String(err));
  }

  private finishAudit(audit: AuditRecord, ctx: Koa.Context): void {
    if (!audit.responseStatus) auditStatus(audit, ctx.status, undefined);
    emitAudit(this.deps.hooks, this.deps.logger, audit, 'ResponseComplete');
  }

  private async authenticate(ctx: Koa.Context): Promise<void> {
    const state = ctx.state as State;
    const outcome = await runAuthentication(this.deps.hooks, {
      headers: ctx.req.headers,
      transport: transportOf(ctx.req),
      peerCertificates: peerCertificatesOf(ctx.req.socket as TLSSocket),
    });
    const authenticated = outcome.result ?? publicInfoVisitor(ctx.path, outcome.refusals.length);
    if (!authenticated) {
      this.deps.logger.info({ refusals: outcome.refusals, path: ctx.path }, 'authentication failed');
      throw errors.unauthorized();
    }
    const real = authenticated.user;
    // Each repeated header apart (headersDistinct, made only when asked for): Node joins repeats with ", ".
    state.user = wantsImpersonation(ctx.req.headers)
      ? await impersonate(this.deps.hooks, real, ctx.req.headersDistinct)
      : real;
    state.info = parseRequestInfo(ctx.method, ctx.path, state.query);
    if (state.audit) {
      auditAuthenticated(state.audit, real, state.user, authenticated.authenticator, state.info);
      emitAudit(this.deps.hooks, this.deps.logger, state.audit, 'RequestReceived');
    }
  }

  /** The request's in-flight slot (after authentication, before authorization and the body); 429 when full. */
  private admit(state: State): RequestKind | undefined {
    try {
      return this.deps.inflight.admit(state.info!, state.user);
    } catch (err) {
      this.deps.metrics.terminated(state.info, 429);
      throw err;
    }
  }

  /** Reads the body against the server's body budget; a refusal counts as a termination. */
  private async readBodyOf(ctx: Koa.Context, state: State): Promise<Buffer> {
    state.bodies = this.deps.bodyBudget.account(state.user);
    try {
      return await readBody(ctx.req, this.deps.maxRequestBodyBytes, state.bodies);
    } catch (err) {
      if (isStatusError(err) && err.code === 429) this.deps.metrics.terminated(state.info, 429);
      throw err;
    }
  }

  private routes(): Router {
    const { registry, healthChecks, metrics } = this.deps;
    const router = new Router();
    const json = (ctx: Koa.Context, body: unknown) => {
      if (body === undefined) throw errors.notFoundPath();
      ctx.set('Content-Type', 'application/json');
      ctx.body = body;
    };
    router.get('/version', (ctx) => json(ctx, versionInfo()));
    // Aggregated discovery when asked for it (kubectl lists it first), the legacy documents otherwise.
    const discovery = (ctx: Koa.Context, core: boolean, legacy: () => unknown) => {
      const version = wantsAggregated(ctx.get('Accept'));
      ctx.set('Vary', 'Accept');
      if (!version) return json(ctx, legacy());
      ctx.set('Content-Type', discoveryContentType(version));
      ctx.body = aggregatedDiscovery(registry, core, version);
    };
    router.get('/api', (ctx) => discovery(ctx, true, () => apiVersions(this.deps.advertise)));
    router.get('/apis', (ctx) => discovery(ctx, false, () => apiGroupList(registry)));
    router.get('/api/:version', (ctx) => json(ctx, apiResourceList(registry, '', ctx.params.version!)));
    router.get('/apis/:group', (ctx) => json(ctx, apiGroupDocument(registry, ctx.params.group!)));
    router.get('/apis/:group/:version', (ctx) =>
      json(ctx, apiResourceList(registry, ctx.params.group!, ctx.params.version!)),
    );
    for (const kind of ['healthz', 'livez', 'readyz'] as const) {
      const serve = async (ctx: Koa.Context, only?: string) => {
        const answer = await runHealth(kind, healthChecks, (ctx.state as State).query, only);
        if (!answer) throw errors.notFoundPath();
        ctx.status = answer.code;
        ctx.type = 'text/plain; charset=utf-8';
        ctx.set('X-Content-Type-Options', 'nosniff');
        ctx.body = answer.text;
      };
      router.get(`/${kind}`, (ctx) => serve(ctx));
      router.get(`/${kind}/:check`, (ctx) => serve(ctx, ctx.params.check));
    }
    router.get('/metrics', async (ctx) => {
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.registry.metrics();
    });
    this.deps.hooks.routes.call(router);
    return router;
  }

  private async serveResource(ctx: Koa.Context): Promise<void> {
    const state = ctx.state as State;
    const info = state.info!;
    if (!info.resourceRequest) throw errors.notFoundPath();
    const format = this.media.require(ctx.get('Accept'), info.verb === 'watch');
    const tableable = (info.verb === 'get' || info.verb === 'list' || info.verb === 'watch') && !info.subresource;
    if (!tableable && onlyTables(ctx.get('Accept'))) {
      throw errors.notAcceptable('application/json (a Table is served only for get, list and watch of a resource)');
    }
    if (info.verb === 'watch') return this.serveWatch(ctx, state, format);
    let body: unknown;
    let patchType: PatchType | undefined;
    if (BODY_VERBS.has(info.verb)) {
      const raw = await this.readBodyOf(ctx, state);
      const decoded = decodeBody(raw, ctx.get('Content-Type'), info.verb, this.media);
      ({ body, patchType } = decoded);
      if (info.verb === 'create' || info.verb === 'update' || info.verb === 'patch') {
        this.validateFields(ctx, info, decoded, raw);
      }
    }
    if (state.audit) state.audit.requestObject = body;
    // Authorized by the middleware already, before the body was read.
    const outcome = await this.deps.api.handleAuthorized({
      info,
      user: state.user!,
      query: state.query,
      body,
      patchType,
      userAgent: ctx.get('User-Agent') || undefined,
      audit: state.audit,
      warn: (text) => warningsOf(ctx).add(text),
    });
    ctx.status = outcome.code;
    if (state.audit) {
      state.audit.responseObject = outcome.body;
      auditStatus(state.audit, outcome.code, undefined);
    }
    if (format !== 'json') return writeSerialized(ctx, format, outcome.body);
    ctx.set('Content-Type', 'application/json');
    const def =
      (info.verb === 'get' || info.verb === 'list') && !info.subresource ? this.tableDefinition(ctx, info) : undefined;
    ctx.body = def ? encodeTable(def, outcome.body, includeObjectOf(state.query)) : encodeJson(outcome.body);
  }

  /**
   * fieldValidation (Strict | Warn, the default | Ignore) where upstream decodes strictly: create,
   * update and patch bodies (delete options are decoded leniently upstream, and here). Duplicate
   * keys are found in every JSON and YAML body, whatever the kind or subresource (JSON's named by
   * path, YAML's by line, as upstream's two decoders word them); unknown fields are dropped where
   * the kind has a schema (its own body or its status).
   */
  private validateFields(ctx: Koa.Context, info: RequestInfo, decoded: DecodedBody, raw: Buffer): void {
    const mode = fieldValidationOf((ctx.state as State).query);
    if (info.verb === 'patch') {
      validatePatchFields(ctx, raw, mode, decoded);
      return;
    }
    const { body } = decoded;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
    const def = this.deps.registry.find(info.apiGroup, info.apiVersion, info.resource);
    const schema =
      def && (!info.subresource || info.subresource === 'status') && messageForKind(apiVersionOf(def), def.kind);
    const unknown = schema ? dropUnknownFields(body as Record<string, unknown>, schema.name) : [];
    if (mode === 'Ignore') return;
    const json = mediaTypeOf(ctx.get('Content-Type')) === 'application/json';
    const duplicates = json ? duplicateFields(raw.toString('utf8')).map((d) => `duplicate field "${d}"`) : [];
    const yamlKeys = decoded.duplicateKeys ?? [];
    const unknowns = unknown.map((u) => `unknown field "${u}"`);
    if (duplicates.length + yamlKeys.length + unknowns.length === 0) return;
    if (mode === 'Strict') {
      // Upstream's YAML decoder reports its duplicates as one error, a line each.
      const listed = [...duplicates, ...(yamlKeys.length ? [yamlUnmarshalErrors(yamlKeys)] : []), ...unknowns];
      // Upstream names the kind it decoded: the body's own kind (Binding, Scale...), else the resource's.
      const given = (body as { kind?: unknown }).kind;
      const kind = typeof given === 'string' && given ? given : (def?.kind ?? info.resource);
      throw errors.badRequest(
        `${kind} in version "${info.apiVersion}" cannot be handled as a ${kind}: strict decoding error: ${listed.join(', ')}`,
      );
    }
    for (const l of [...duplicates, ...yamlKeys, ...unknowns]) warningsOf(ctx).add(l);
  }

  /** The resource's definition when the client asked for a Table, else undefined. */
  private tableDefinition(ctx: Koa.Context, info: RequestInfo): ResourceDefinition | undefined {
    if (!wantsTable(ctx.get('Accept'))) return undefined;
    return this.deps.registry.find(info.apiGroup, info.apiVersion, info.resource);
  }

  private async serveWatch(ctx: Koa.Context, state: State, format: ResponseFormat): Promise<void> {
    const timeout = state.query.get('timeoutSeconds');
    if (timeout !== null && !/^\d+$/.test(timeout)) throw errors.badRequest(`invalid timeoutSeconds "${timeout}"`);
    let stream: WatchStream | undefined;
    const pending: Parameters<WatchStream['onEvent']>[0][] = [];
    let closedEarly = false;
    // Authorization and argument errors must become a normal Status response, so the stream
    // (and its 200 header) starts only after the watch was accepted.
    const def = this.tableDefinition(ctx, state.info!);
    const include = def ? includeObjectOf(state.query) : 'Metadata';
    const convert = (e: CacheEvent) => (def ? asTableEvent(def, e, include) : e);
    // Authorized by the middleware already.
    const handle = await this.deps.api.watchAuthorized(
      {
        info: state.info!,
        user: state.user!,
        query: state.query,
        audit: state.audit,
        warn: (text) => warningsOf(ctx).add(text),
      },
      (e) => (stream ? stream.onEvent(convert(e)) : pending.push(convert(e))),
      () => {
        if (stream) stream.end();
        else closedEarly = true;
      },
    );
    ctx.respond = false;
    const s = openWatchStream(
      ctx.res,
      timeout === null ? undefined : Number(timeout),
      () => {
        handle.cancel();
        this.watches.delete(s);
      },
      format === 'json' ? undefined : watchEncoding(format),
    );
    stream = s;
    this.watches.add(s);
    if (state.audit) {
      auditStatus(state.audit, 200, undefined);
      emitAudit(this.deps.hooks, this.deps.logger, state.audit, 'ResponseStarted');
    }
    for (const e of pending) s.onEvent(e);
    if (closedEarly) s.end();
    await s.ended;
  }
}

/**
 * Duplicate keys in a merge, strategic-merge or JSON patch body, as upstream's patch handler finds
 * them: a warning each (`json patch duplicate field "[0].op"` for JSON patch), or with Strict a 422
 * on the field "patch". Upstream shows the patched object as the value; Skiff checks before
 * applying and shows the patch. Apply bodies are YAML: see validateApplyKeys.
 */
function validatePatchFields(ctx: Koa.Context, raw: Buffer, mode: FieldValidation, decoded: DecodedBody): void {
  const { patchType } = decoded;
  if (mode === 'Ignore' || !patchType) return;
  if (patchType === 'apply') {
    validateApplyKeys(ctx, mode, decoded.duplicateKeys);
    return;
  }
  const prefix = patchType === 'json' ? 'json patch ' : '';
  const text = raw.toString('utf8');
  const found = duplicateFields(text).map((d) => `${prefix}duplicate field "${d}"`);
  if (found.length === 0) return;
  if (mode === 'Warn') {
    for (const f of found) warningsOf(ctx).add(f);
    return;
  }
  const cause: FieldError = {
    type: 'FieldValueInvalid',
    field: 'patch',
    value: text,
    detail: `strict decoding error: ${found.join(', ')}`,
  };
  const message = `patch: ${fieldErrorBody(cause)}`;
  throw new StatusError(422, 'Invalid', ` "" is invalid: ${message}`, {
    causes: [{ reason: cause.type, message: fieldErrorBody(cause), field: cause.field }],
  });
}

/**
 * Keys given twice in a server-side apply body, as upstream's apply patcher treats them: a warning
 * each (`line 5: key "name" already set in map`), or with Strict a 400 "error strict decoding YAML".
 * The apply uses the last value, as upstream's lenient first decoding does.
 */
function validateApplyKeys(ctx: Koa.Context, mode: FieldValidation, duplicateKeys: string[] = []): void {
  if (duplicateKeys.length === 0) return;
  if (mode === 'Strict') {
    throw errors.badRequest(
      `error strict decoding YAML: error converting YAML to JSON: ${yamlUnmarshalErrors(duplicateKeys)}`,
    );
  }
  for (const key of duplicateKeys) warningsOf(ctx).add(key);
}

/** go-yaml's error for a document with keys given twice: one line per key. */
function yamlUnmarshalErrors(duplicateKeys: string[]): string {
  return `yaml: unmarshal errors:\n  ${duplicateKeys.join('\n  ')}`;
}

const BODY_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/**
 * A request with no credentials at all on a public-info path (health, version) proceeds as
 * system:anonymous even when anonymous auth is off, as upstream's anonymous-auth conditions allow
 * for probes; authorization still decides (the core's system:public-info-viewer rule allows GET).
 * Credentials that failed are a 401 here too.
 */
function publicInfoVisitor(path: string, refusals: number): Authenticated | undefined {
  if (refusals > 0 || !PUBLIC_INFO_PATHS.includes(path)) return undefined;
  return { user: { name: 'system:anonymous', groups: ['system:unauthenticated'] }, authenticator: 'public-info-paths' };
}

/**
 * A serializer's watch stream, named `<type>;stream=watch` as upstream names every non-JSON stream;
 * an event without a form in that media type goes out as its JSON line.
 */
function watchEncoding(serializer: Serializer): WatchEncoding {
  return {
    contentType: `${serializer.mediaType};stream=watch`,
    encode: (e: CacheEvent) => serializer.encodeWatchEvent!(e) ?? e.encoded(),
  };
}

/** The client asked for Tables and nothing else (no plain JSON, no wildcard). */
function onlyTables(accept: string): boolean {
  if (!accept) return false;
  return accept.split(',').every((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params[0] === 'application/json' && params.includes('as=Table');
  });
}

/** The body in a plugin's media type; undefined when the answer is JSON or the kind has no such form. */
function serialized(format: ResponseFormat | undefined, body: unknown): Buffer | undefined {
  if (!format || format === 'json') return undefined;
  return format.encode!(body, { mediaType: format.mediaType });
}

function writeSerialized(ctx: Koa.Context, serializer: Serializer, body: unknown): void {
  const encoded = serialized(serializer, body);
  if (!encoded) throw errors.notAcceptable(`application/json (this kind has no ${serializer.mediaType} form)`);
  ctx.set('Content-Type', serializer.mediaType);
  ctx.body = encoded;
}

// Watch events are shared by every watcher; their Table form is built once per event and include mode.
const tableEvents = new WeakMap<CacheEvent, Map<string, CacheEvent>>();

function asTableEvent(def: ResourceDefinition, e: CacheEvent, include: ReturnType<typeof includeObjectOf>): CacheEvent {
  if (e.type === 'BOOKMARK' || e.type === 'ERROR') return e;
  const byMode = tableEvents.get(e) ?? new Map<string, CacheEvent>();
  tableEvents.set(e, byMode);
  let converted = byMode.get(include);
  if (!converted) {
    converted = makeEvent(e.type, toTable(def, e.object, include) as unknown as KubeObject);
    byMode.set(include, converted);
  }
  return converted;
}
