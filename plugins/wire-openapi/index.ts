/**
 * wire-openapi: the OpenAPI documents kubectl reads. /openapi/v3 (a root and one document per group
 * version: `kubectl explain`, server-side field validation, apply's strategic merge patch) and
 * /openapi/v2 (Swagger 2.0 as JSON or gnostic protobuf, with ETags: kubectl 1.20). On in
 * config/default.yaml. See README.md.
 */
import { definePlugin, errors } from 'skiff/sdk';
import { inGroupVersion } from './catalog.js';
import { notModified, OPENAPI_V2_PROTOBUF_RESPONSE_TYPE, openApiV2, wantsOpenApiV2Protobuf } from './v2.js';
import { openApiV3Document, openApiV3Root } from './v3.js';

type Ctx = { set(name: string, value: string): void; body: unknown };

function json(ctx: Ctx, body: unknown): void {
  if (body === undefined) throw errors.notFoundPath();
  ctx.set('Content-Type', 'application/json');
  ctx.body = body;
}

export default definePlugin({
  name: 'wire-openapi',
  description: 'The OpenAPI v2 and v3 documents (kubectl explain, validation, apply) at /openapi/v2 and /openapi/v3.',
  setup(ctx) {
    // The documents are built on first request, once every plugin has added its resources.
    const catalog = ctx.api.registry;
    ctx.provide.routes((router) => {
      router.get('/openapi/v3', (c) => json(c, openApiV3Root(catalog)));
      router.get(/^\/openapi\/v3\/apis?\/.+/, (c) => {
        const parts = c.path.split('/').slice(3);
        const [group = '', version = ''] = parts[0] === 'api' ? ['', parts[1]] : [parts[1], parts[2]];
        const found = inGroupVersion(catalog, group, version).length > 0;
        json(c, found ? openApiV3Document(catalog, group, version) : undefined);
      });
      router.get('/openapi/v2', (c) => {
        const v2 = openApiV2(catalog);
        const protobuf = wantsOpenApiV2Protobuf(c.get('Accept'));
        const encoded = protobuf ? v2.protobuf : v2.json;
        c.set('Vary', 'Accept');
        c.set('ETag', encoded.etag);
        c.lastModified = v2.built;
        if (notModified(c.get('If-None-Match'), c.get('If-Modified-Since'), encoded, v2.built)) {
          c.status = 304;
          return;
        }
        c.set('Content-Type', protobuf ? OPENAPI_V2_PROTOBUF_RESPONSE_TYPE : 'application/json');
        c.body = encoded.body;
      });
    });
  },
});
