/**
 * Serving an authorized resource request, in the order it flows: the answer's media type is
 * negotiated, a watch goes to WatchServing, a body is read (against the body budget), decoded and
 * checked per fieldValidation, the ApiService is called, and its answer is encoded (JSON, a Table,
 * or a plugin's media type).
 */
import type Koa from 'koa';
import type { ApiService, PatchType } from '../api/api-service.js';
import type { ResourceRegistry } from '../api/registry.js';
import type { RequestInfo } from '../api/request-info.js';
import type { ResourceDefinition } from '../api/types.js';
import { errors, isStatusError } from '../errors.js';
import { auditStatus } from './audit.js';
import { decodeBody, readBody } from './body.js';
import { connecterFor, serveConnect } from './connect.js';
import { encodeJson, encodeTable } from './encode.js';
import { validateFields } from './field-validation.js';
import type { BodyBudget } from './inflight.js';
import { type MediaTypes, type ResponseFormat, writeSerialized } from './media-types.js';
import { type RequestState, stateOf } from './request-state.js';
import { includeObjectOf, wantsTable } from './table.js';
import { warningsOf } from './warnings.js';
import { WatchServing, type WatchServingDeps } from './watch-serving.js';

export interface ResourceRequestDeps extends WatchServingDeps {
  api: ApiService;
  registry: ResourceRegistry;
  maxRequestBodyBytes: number;
  /** The request-body bytes held at once (server.maxInflightBodyBytes). */
  bodyBudget: BodyBudget;
}

interface RequestBody {
  body?: unknown;
  patchType?: PatchType;
}

const NO_BODY: RequestBody = Object.freeze({});
const BODY_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export class ResourceRequests {
  readonly watches: WatchServing;

  constructor(
    private readonly deps: ResourceRequestDeps,
    private readonly media: MediaTypes,
  ) {
    this.watches = new WatchServing(deps);
  }

  async serve(ctx: Koa.Context): Promise<void> {
    const state = stateOf(ctx);
    const info = state.info!;
    if (!info.resourceRequest) throw errors.notFoundPath();
    const connecter = connecterFor(this.deps.registry, info);
    if (connecter) return serveConnect(ctx, state, connecter);
    const format = this.responseFormat(ctx, info);
    if (info.verb === 'watch') return this.watches.serve(ctx, state, format, this.tableDefinition(ctx, info));
    const { body, patchType } = BODY_VERBS.has(info.verb) ? await this.requestBody(ctx, state, info) : NO_BODY;
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
    this.writeOutcome(ctx, state, format, outcome);
  }

  /** The media type to answer in (406 when none is acceptable); Tables only where upstream serves them. */
  private responseFormat(ctx: Koa.Context, info: RequestInfo): ResponseFormat {
    const format = this.media.require(ctx.get('Accept'), info.verb === 'watch');
    const tableable = (info.verb === 'get' || info.verb === 'list' || info.verb === 'watch') && !info.subresource;
    if (!tableable && onlyTables(ctx.get('Accept'))) {
      throw errors.notAcceptable('application/json (a Table is served only for get, list and watch of a resource)');
    }
    return format;
  }

  /**
   * The body, read against the server's body budget (a refusal counts as a termination), decoded
   * and checked per fieldValidation.
   */
  private async requestBody(ctx: Koa.Context, state: RequestState, info: RequestInfo): Promise<RequestBody> {
    state.bodies = this.deps.bodyBudget.account(state.user);
    let raw: Buffer;
    try {
      raw = await readBody(ctx.req, this.deps.maxRequestBodyBytes, state.bodies);
    } catch (err) {
      if (isStatusError(err) && err.code === 429) state.terminated = true;
      throw err;
    }
    const patchTypes = info.verb === 'patch' ? this.deps.api.patchMediaTypes() : undefined;
    const decoded = decodeBody(raw, ctx.get('Content-Type'), info.verb, this.media, patchTypes);
    if (info.verb === 'create' || info.verb === 'update' || info.verb === 'patch') {
      validateFields(ctx, this.deps.registry, info, decoded, raw);
    }
    return decoded;
  }

  private writeOutcome(
    ctx: Koa.Context,
    state: RequestState,
    format: ResponseFormat,
    outcome: { code: number; body: unknown },
  ): void {
    ctx.status = outcome.code;
    if (state.audit) {
      state.audit.responseObject = outcome.body;
      auditStatus(state.audit, outcome.code, undefined);
    }
    if (format !== 'json') {
      writeSerialized(ctx, format, outcome.body);
      return;
    }
    ctx.set('Content-Type', 'application/json');
    const info = state.info!;
    const def =
      (info.verb === 'get' || info.verb === 'list') && !info.subresource ? this.tableDefinition(ctx, info) : undefined;
    ctx.body = def ? encodeTable(def, outcome.body, includeObjectOf(state.query)) : encodeJson(outcome.body);
  }

  /** The resource's definition when the client asked for a Table, else undefined. */
  private tableDefinition(ctx: Koa.Context, info: RequestInfo): ResourceDefinition | undefined {
    if (!wantsTable(ctx.get('Accept'))) return undefined;
    return this.deps.registry.find(info.apiGroup, info.apiVersion, info.resource);
  }
}

/** The client asked for Tables and nothing else (no plain JSON, no wildcard). */
function onlyTables(accept: string): boolean {
  if (!accept) return false;
  return accept.split(',').every((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params[0] === 'application/json' && params.includes('as=Table');
  });
}
