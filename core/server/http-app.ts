/**
 * The HTTP face of the API server: a koa app. Every request goes through the steps in upstream's
 * filter order: authenticated (impersonation resolved; authentication-step.ts), given its in-flight
 * slot, authorized, and only then served: by a non-resource route (discovery, health, plugin
 * routes such as OpenAPI and metrics; non-resource-routes.ts) or as a resource request (body read,
 * decoded and field-validated, the ApiService called, the answer encoded; resource-requests.ts).
 * A refused request never has its body read. Every error leaves as a metav1.Status (error-response.ts).
 * Once answered, the request observers plugins contributed hear of it (request metrics).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { ApiService } from '../api/api-service.js';
import type { ResourceRegistry } from '../api/registry.js';
import { errors } from '../errors.js';
import type { Hooks } from '../hooks.js';
import type { CompletedRequest, RequestObserver } from '../plugins/contract.js';
import type { Serializer } from '../wire/serializer.js';
import { auditStatus, emitAudit, startAudit } from './audit.js';
import { authenticateRequest } from './authentication-step.js';
import { serveUpgrade } from './connect.js';
import { writeError } from './error-response.js';
import type { HealthCheck } from './health.js';
import type { BodyBudget, InflightLimiter, RequestKind } from './inflight.js';
import { MediaTypes } from './media-types.js';
import { nonResourceRoutes } from './non-resource-routes.js';
import { type RequestState, stateOf } from './request-state.js';
import { ResourceRequests } from './resource-requests.js';

export interface HttpAppDeps {
  api: ApiService;
  registry: ResourceRegistry;
  hooks: Hooks;
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
  /** Told of every answered request (request metrics); none: the request path does not even time requests. */
  requestObservers: readonly RequestObserver[];
}

type Next = () => Promise<unknown>;

export class HttpApp {
  readonly koa = new Koa();
  private readonly media: MediaTypes;
  private readonly resources: ResourceRequests;
  private readonly route: (ctx: Koa.Context, next: Next) => Promise<unknown>;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: HttpAppDeps) {
    this.media = new MediaTypes(deps.serializers);
    this.resources = new ResourceRequests(deps, this.media);
    this.route = this.router();
    // One middleware for what every request goes through, so the hot path pays one koa dispatch.
    this.koa.use((ctx, next) => this.serve(ctx, next));
    this.koa.use(() => {
      throw errors.notFoundPath();
    });
  }

  callback() {
    return this.koa.callback();
  }

  /** The listener for Node's 'upgrade' event: upgrade requests take the same steps as any other. */
  upgradeListener() {
    const handle = this.koa.callback();
    return (req: IncomingMessage, socket: Duplex, head: Buffer) => serveUpgrade(handle, req, socket, head);
  }

  /** End every open watch (shutdown). */
  closeWatches(): void {
    this.resources.watches.closeAll();
  }

  /** Resolves when no ordinary request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async serve(ctx: Koa.Context, next: Next): Promise<void> {
    const started = this.deps.requestObservers.length ? performance.now() : 0;
    const state = ctx.state as RequestState;
    state.query = new URLSearchParams(ctx.querystring);
    state.audit = startAudit(this.deps.hooks, ctx);
    this.inFlight++;
    let slot: RequestKind | undefined;
    try {
      await authenticateRequest(ctx, this.deps.hooks, this.deps.logger);
      slot = this.admit(state);
      // Upstream's filter order: authentication, impersonation, max-in-flight, authorization, and
      // only then the handler, which reads the body: a refused user never gets a body parsed.
      await this.deps.api.authorize(state.info!, state.user!, state.audit);
      await this.route(ctx, next);
    } catch (err) {
      writeError(ctx, err, this.deps, this.media);
    } finally {
      this.finish(ctx, state, slot, started);
    }
  }

  /** The request's in-flight slot (after authentication, before authorization and the body); 429 when full. */
  private admit(state: RequestState): RequestKind | undefined {
    try {
      return this.deps.inflight.admit(state.info!, state.user);
    } catch (err) {
      state.terminated = true;
      throw err;
    }
  }

  /** Resource requests (the hot path) skip the router of non-resource paths altogether. */
  private router(): (ctx: Koa.Context, next: Next) => Promise<unknown> {
    const router = nonResourceRoutes(this.deps);
    const routes = router.routes();
    const allowed = router.allowedMethods();
    return (ctx, next) => {
      if (stateOf(ctx).info!.resourceRequest) return this.resources.serve(ctx);
      const routed = ctx as never;
      return routes(routed, () => allowed(routed, () => next()));
    };
  }

  /** Whatever the outcome: the slot and body bytes given back, the audit completed, the observers told. */
  private finish(ctx: Koa.Context, state: RequestState, slot: RequestKind | undefined, started: number): void {
    if (slot) this.deps.inflight.release(slot);
    state.bodies?.release();
    if (state.audit) {
      if (!state.audit.responseStatus) auditStatus(state.audit, ctx.status, undefined);
      emitAudit(this.deps.hooks, this.deps.logger, state.audit, 'ResponseComplete');
    }
    if (this.deps.requestObservers.length) this.observed(ctx, state, started);
    this.inFlight--;
    if (this.inFlight === 0) for (const r of this.idleWaiters.splice(0)) r();
  }

  private observed(ctx: Koa.Context, state: RequestState, started: number): void {
    const request: CompletedRequest = {
      info: state.info,
      dryRun: state.query.has('dryRun'),
      code: ctx.status,
      seconds: (performance.now() - started) / 1000,
      terminated: state.terminated === true,
    };
    for (const observe of this.deps.requestObservers) {
      try {
        observe(request);
      } catch (err) {
        this.deps.logger.error({ err }, 'a request observer failed');
      }
    }
  }
}
