/**
 * The non-resource paths: version, discovery (aggregated when asked for, the legacy documents
 * otherwise), health checks, and whatever routes plugins contributed (OpenAPI documents, metrics).
 */
import Router from '@koa/router';
import type Koa from 'koa';
import type { ResourceRegistry } from '../api/registry.js';
import { errors } from '../errors.js';
import type { Hooks } from '../hooks.js';
import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import { aggregatedDiscovery, discoveryContentType, wantsAggregated } from './discovery-v2.js';
import { type HealthCheck, runHealth } from './health.js';
import { stateOf } from './request-state.js';

export interface NonResourceDeps {
  registry: ResourceRegistry;
  hooks: Hooks;
  healthChecks: HealthCheck[];
  /** The address the core group's discovery document advertises. */
  advertise: string;
}

export function nonResourceRoutes(deps: NonResourceDeps): Router {
  const router = new Router();
  router.get('/version', (ctx) => json(ctx, versionInfo()));
  discoveryRoutes(router, deps);
  for (const kind of ['healthz', 'livez', 'readyz'] as const) healthRoutes(router, kind, deps.healthChecks);
  deps.hooks.routes.call(router);
  return router;
}

function json(ctx: Koa.Context, body: unknown): void {
  if (body === undefined) throw errors.notFoundPath();
  ctx.set('Content-Type', 'application/json');
  ctx.body = body;
}

function discoveryRoutes(router: Router, { registry, advertise }: NonResourceDeps): void {
  // Aggregated discovery when asked for it (kubectl lists it first), the legacy documents otherwise.
  const discovery = (ctx: Koa.Context, core: boolean, legacy: () => unknown) => {
    const version = wantsAggregated(ctx.get('Accept'));
    ctx.set('Vary', 'Accept');
    if (!version) return json(ctx, legacy());
    ctx.set('Content-Type', discoveryContentType(version));
    ctx.body = aggregatedDiscovery(registry, core, version);
  };
  router.get('/api', (ctx) => discovery(ctx, true, () => apiVersions(advertise)));
  router.get('/apis', (ctx) => discovery(ctx, false, () => apiGroupList(registry)));
  router.get('/api/:version', (ctx) => json(ctx, apiResourceList(registry, '', ctx.params.version!)));
  router.get('/apis/:group', (ctx) => json(ctx, apiGroupDocument(registry, ctx.params.group!)));
  router.get('/apis/:group/:version', (ctx) =>
    json(ctx, apiResourceList(registry, ctx.params.group!, ctx.params.version!)),
  );
}

function healthRoutes(router: Router, kind: 'healthz' | 'livez' | 'readyz', healthChecks: HealthCheck[]): void {
  const serve = async (ctx: Koa.Context, only?: string) => {
    const answer = await runHealth(kind, healthChecks, stateOf(ctx).query, only);
    if (!answer) throw errors.notFoundPath();
    ctx.status = answer.code;
    ctx.type = 'text/plain; charset=utf-8';
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = answer.text;
  };
  router.get(`/${kind}`, (ctx) => serve(ctx));
  router.get(`/${kind}/:check`, (ctx) => serve(ctx, ctx.params.check));
}
