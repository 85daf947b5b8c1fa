/**
 * Reading and decoding request bodies: a size limit (413), known media types (415), valid
 * JSON/YAML/protobuf (400).
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { PATCH_MEDIA_TYPES, type PatchType } from '../api/api-service.js';
import { isStackOverflow, MAX_NESTING_DEPTH, nestingExceeds, TOO_DEEP } from '../api/depth.js';
import { errors } from '../errors.js';
import { duplicateFields } from '../wire/duplicate-fields.js';
import { decodeProtobuf, PROTOBUF_MEDIA_TYPE } from '../wire/protobuf.js';

export const WRITE_MEDIA_TYPES = ['application/json', 'application/yaml', PROTOBUF_MEDIA_TYPE];

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Where the bytes of a body being read are accounted (the server's body budget); throws when full. */
export interface BodyReservation {
  reserve(bytes: number): void;
}

/**
 * Reads a body up to limitBytes (413 beyond). With a reservation, the declared length is reserved
 * before the first byte is read, and undeclared (chunked) bodies chunk by chunk, so a body the
 * budget cannot hold is refused rather than buffered. A refused body is drained, not read, so the
 * refusal still reaches the client and the connection stays usable.
 */
export function readBody(req: IncomingMessage, limitBytes: number, reservation?: BodyReservation): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const refuse = (err: unknown) => {
      req.off('data', onData);
      req.resume();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) return refuse(errors.tooLarge(limitBytes));
      if (!declared && reservation) {
        const refusal = tryReserve(reservation, chunk.length);
        if (refusal) return refuse(refusal);
      }
      chunks.push(chunk);
    };
    if (declared > limitBytes) return refuse(errors.tooLarge(limitBytes));
    const refusal = declared && reservation ? tryReserve(reservation, declared) : undefined;
    if (refusal) return refuse(refusal);
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    // A client gone mid-body: no 'end' will come.
    req.once('close', () => (req.complete ? undefined : reject(new Error('the client closed the request body early'))));
  });
}

function tryReserve(reservation: BodyReservation, bytes: number): unknown {
  try {
    reservation.reserve(bytes);
    return undefined;
  } catch (err) {
    return err;
  }
}

/**
 * Decode a body by its media type; a patch body's media type also names the patch type. A body that
 * nests deeper than MAX_NESTING_DEPTH is refused here (upstream's decoders refuse theirs at 10000),
 * before the audit log, the admission chain or any other recursive code sees it.
 */
export function decodeBody(
  raw: Buffer,
  contentType: string | undefined,
  verb: string,
): { body: unknown; patchType?: PatchType } {
  const media = mediaTypeOf(contentType);
  if (raw.length === 0 && verb === 'delete') return { body: undefined };
  if (verb === 'patch') {
    const patchType = PATCH_TYPES[media];
    if (!patchType) throw errors.unsupportedMediaType(media, PATCH_MEDIA_TYPES);
    return { body: patchType === 'apply' ? parseYamlBody(raw) : parseJson(raw), patchType };
  }
  if (media === 'application/json' || (media === '' && raw.length === 0)) return { body: parseJson(raw) };
  if (media === 'application/yaml') return { body: parseYamlBody(raw) };
  if (media === PROTOBUF_MEDIA_TYPE) return { body: raw.length === 0 ? undefined : parseProtobuf(raw) };
  throw errors.unsupportedMediaType(media, WRITE_MEDIA_TYPES);
}

// JSON.parse does not recurse, so any depth parses; the depth is checked on what it built.
function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw errors.badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (nestingExceeds(body, MAX_NESTING_DEPTH))
    throw errors.badRequest(`the request body is not valid JSON: ${TOO_DEEP}`);
  return body;
}

/**
 * YAML, or JSON sent as YAML (what `kubectl apply --server-side` sends): JSON is valid YAML, and
 * JSON.parse reads it faster and to any depth, where the YAML parser recurses and overflows a few
 * hundred levels down. Its overflow is answered as the depth error it is.
 */
function parseYamlBody(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  let body: unknown;
  try {
    body = looksLikeJson(text) ? parseJsonOrYaml(text) : parseYaml(text);
  } catch (err) {
    if (isStackOverflow(err)) throw errors.badRequest(`the request body is not valid YAML: ${YAML_TOO_DEEP}`);
    throw errors.badRequest(`the request body is not valid YAML: ${(err as Error).message}`);
  }
  if (nestingExceeds(body, MAX_NESTING_DEPTH))
    throw errors.badRequest(`the request body is not valid YAML: ${TOO_DEEP}`);
  return body;
}

function looksLikeJson(text: string): boolean {
  const first = text.trimStart()[0];
  return first === '{' || first === '[';
}

const YAML_TOO_DEEP = `${TOO_DEEP} (nested deeper than the YAML parser follows; as JSON, a body may nest ${MAX_NESTING_DEPTH} levels)`;

/**
 * `{a: 1}` is YAML's flow style, not JSON: what JSON.parse refuses goes to the YAML parser, and so
 * does JSON with a key twice, which JSON.parse would take silently and YAML refuses.
 */
function parseJsonOrYaml(text: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return parseYaml(text);
  }
  if (nestingExceeds(body, MAX_NESTING_DEPTH) || duplicateFields(text).length === 0) return body;
  return parseYaml(text);
}

function parseProtobuf(raw: Buffer): unknown {
  let body: unknown;
  try {
    body = decodeProtobuf(raw);
  } catch (err) {
    // Objects embedded in objects (RawExtension) are decoded recursively.
    if (isStackOverflow(err)) throw errors.badRequest(`the request body could not be decoded as protobuf: ${TOO_DEEP}`);
    throw err;
  }
  if (nestingExceeds(body, MAX_NESTING_DEPTH))
    throw errors.badRequest(`the request body could not be decoded as protobuf: ${TOO_DEEP}`);
  return body;
}
