/**
 * /openapi/v2: the Swagger 2.0 document for every served kind (v2-document.ts), as JSON or as
 * gnostic's protobuf (v2-protobuf.ts), which kubectl 1.20 reads for explain, validation and apply;
 * each with its ETag, and answered 304 when the client has it.
 */
import { createHash } from 'node:crypto';
import type { ResourceCatalog } from 'skiff/sdk';
import { KUBERNETES_VERSION } from 'skiff/sdk/wire';
import { verbsOf } from './catalog.js';
import { swaggerDocument } from './v2-document.js';
import { encodeSwaggerProtobuf } from './v2-protobuf.js';

/** Clients ask for this media type; upstream answers with application/octet-stream (Go's mime parser rejects the '@'). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
export const OPENAPI_V2_PROTOBUF_RESPONSE_TYPE = 'application/octet-stream';

export interface EncodedDocument {
  body: Buffer;
  /** Quoted, as upstream's: the uppercase hex SHA-512 of the body. */
  etag: string;
}

export interface OpenApiV2 {
  json: EncodedDocument;
  protobuf: EncodedDocument;
  /** For Last-Modified: when the document was built. */
  built: Date;
  /** Milliseconds spent building and encoding it. */
  buildMs: number;
}

const encoded = (body: Buffer): EncodedDocument => ({
  body,
  etag: `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"`,
});

// kubectl fetches /openapi/v2 on every command: build and encode it once per catalog.
const v2Documents = new WeakMap<ResourceCatalog, OpenApiV2>();

export function openApiV2(catalog: ResourceCatalog): OpenApiV2 {
  let v2 = v2Documents.get(catalog);
  if (!v2) {
    const start = performance.now();
    const doc = swaggerDocument(catalog.all(), verbsOf, KUBERNETES_VERSION.gitVersion);
    const json = encoded(Buffer.from(JSON.stringify(doc)));
    const protobuf = encoded(encodeSwaggerProtobuf(doc));
    v2 = { json, protobuf, built: new Date(), buildMs: performance.now() - start };
    v2Documents.set(catalog, v2);
  }
  return v2;
}

/** The representation an Accept header asks for: gnostic's protobuf only when named. */
export function wantsOpenApiV2Protobuf(accept: string): boolean {
  return accept.includes('com.github.proto-openapi.spec.v2');
}

/**
 * Whether a conditional GET can be answered 304, as Go's http.ServeContent (upstream) decides:
 * If-None-Match (weak comparison, `*`) wins; otherwise If-Modified-Since, to the second. Unlike
 * koa's `ctx.fresh`, a request's `Cache-Control: no-cache` (fetch adds it) does not matter.
 */
export function notModified(ifNoneMatch: string, ifModifiedSince: string, doc: EncodedDocument, built: Date): boolean {
  if (ifNoneMatch) {
    return ifNoneMatch.split(',').some((tag) => {
      const t = tag.trim().replace(/^W\//, '');
      return t === '*' || t === doc.etag;
    });
  }
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && Math.floor(built.getTime() / 1000) <= Math.floor(since / 1000);
}
