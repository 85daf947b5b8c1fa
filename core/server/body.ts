/**
 * Reading and decoding request bodies: a size limit (413), known media types (415), valid
 * JSON/YAML or a body a plugin's serializer reads (protobuf) (400).
 */
import type { IncomingMessage } from 'node:http';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { PATCH_MEDIA_TYPES, type PatchType, patchTypeOf } from '../api/api-service.js';
import { isStackOverflow, MAX_NESTING_DEPTH, nestingExceeds, TOO_DEEP } from '../api/depth.js';
import { errors, isStatusError } from '../errors.js';
import { duplicateFields } from '../wire/duplicate-fields.js';
import type { Serializer } from '../wire/serializer.js';
import { MediaTypes } from './media-types.js';

const CORE_ONLY = new MediaTypes();

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

/** A decoded body; `duplicateKeys` when it was YAML with a key given twice in one map. */
export interface DecodedBody {
  body: unknown;
  patchType?: PatchType;
  /**
   * Each key a YAML map gave twice, as upstream's YAML decoder words it
   * (`line 5: key "name" already set in map`); the body holds the last value, as upstream's.
   * fieldValidation decides what becomes of them (Strict refuses, Warn warns).
   */
  duplicateKeys?: string[];
}

/**
 * Decode a body by its media type (JSON, YAML, or one a plugin's serializer reads); a patch body's
 * media type also names the patch type, which must be one of `patchTypes` (the served ones: 415
 * otherwise, listing them). A body that nests deeper than MAX_NESTING_DEPTH is refused
 * here (upstream's decoders refuse theirs at 10000), before the audit log, the admission chain or
 * any other recursive code sees it.
 */
export function decodeBody(
  raw: Buffer,
  contentType: string | undefined,
  verb: string,
  media: MediaTypes = CORE_ONLY,
  patchTypes: readonly string[] = PATCH_MEDIA_TYPES,
): DecodedBody {
  const type = mediaTypeOf(contentType);
  if (raw.length === 0 && verb === 'delete') return { body: undefined };
  if (verb === 'patch') {
    const patchType = patchTypes.includes(type) ? patchTypeOf(type) : undefined;
    if (!patchType) throw errors.unsupportedMediaType(type, [...patchTypes]);
    return patchType === 'apply' ? { ...parseYamlBody(raw), patchType } : { body: parseJson(raw), patchType };
  }
  if (type === 'application/json' || (type === '' && raw.length === 0)) return { body: parseJson(raw) };
  if (type === 'application/yaml') return parseYamlBody(raw);
  const serializer = media.decoder(type);
  if (serializer) return { body: decodeWith(serializer, raw, contentType ?? '') };
  throw errors.unsupportedMediaType(type, [...media.bodyTypes]);
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
function parseYamlBody(raw: Buffer): { body: unknown; duplicateKeys?: string[] } {
  const text = raw.toString('utf8');
  let decoded: { body: unknown; duplicateKeys?: string[] };
  try {
    decoded = looksLikeJson(text) ? parseJsonOrYaml(text) : parseYaml(text);
  } catch (err) {
    if (isStackOverflow(err)) throw errors.badRequest(`the request body is not valid YAML: ${YAML_TOO_DEEP}`);
    throw errors.badRequest(`the request body is not valid YAML: ${(err as Error).message}`);
  }
  if (nestingExceeds(decoded.body, MAX_NESTING_DEPTH))
    throw errors.badRequest(`the request body is not valid YAML: ${TOO_DEEP}`);
  return decoded;
}

function looksLikeJson(text: string): boolean {
  const first = text.trimStart()[0];
  return first === '{' || first === '[';
}

const YAML_TOO_DEEP = `${TOO_DEEP} (nested deeper than the YAML parser follows; as JSON, a body may nest ${MAX_NESTING_DEPTH} levels)`;

/**
 * `{a: 1}` is YAML's flow style, not JSON: what JSON.parse refuses goes to the YAML parser, and so
 * does JSON with a key twice, so its duplicates are reported by line as upstream's YAML decoder does.
 */
function parseJsonOrYaml(text: string): { body: unknown; duplicateKeys?: string[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return parseYaml(text);
  }
  if (nestingExceeds(body, MAX_NESTING_DEPTH) || duplicateFields(text).length === 0) return { body };
  return parseYaml(text);
}

/**
 * One YAML document, aliases capped (the library's maxAliasCount, 100), tags resolved to plain data
 * only. The library's own unique-keys check compares every key with every earlier one, which makes
 * a map of 50 000 keys hold the event loop for seconds; duplicates are found in one pass instead.
 * Warnings (unresolved tags) are dropped: a client's YAML must not write to the server's stderr.
 */
function parseYaml(text: string): { body: unknown; duplicateKeys?: string[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter: lines });
  if (doc.errors.length > 0) throw doc.errors[0];
  const body = doc.toJS();
  const duplicateKeys = findDuplicateKeys(doc.contents, lines);
  return duplicateKeys.length > 0 ? { body, duplicateKeys } : { body };
}

/**
 * Keys given twice in one map, in the order upstream's decoder meets them (a value before its own
 * key), each on the line of the repeated key's value, as go-yaml reports it. Keys compare as the
 * JSON object's keys they become. Aliases are not followed: each node is visited once.
 */
function findDuplicateKeys(root: unknown, lines: LineCounter): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (isSeq(node)) {
      for (const item of node.items) visit(item);
      return;
    }
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      visit(pair.value);
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      const name = key === null || key === undefined ? '' : String(key);
      if (!seen.has(name)) {
        seen.add(name);
        continue;
      }
      const at = ((pair.value as Node | null)?.range ?? (pair.key as Node | null)?.range)?.[0] ?? 0;
      const shown = typeof key === 'string' ? JSON.stringify(key) : name;
      found.push(`line ${lines.linePos(at).line}: key ${shown} already set in map`);
    }
  };
  visit(root);
  return found;
}

/**
 * A body in a plugin's media type. Whatever the plugin's decoder throws that is not a Status is the
 * client's 400 too (the body is its only input), and the depth limit holds for every decoder.
 */
function decodeWith(serializer: Serializer, raw: Buffer, contentType: string): unknown {
  const undecodable = (reason: string) =>
    errors.badRequest(`the request body could not be decoded as ${serializer.mediaType}: ${reason}`);
  let body: unknown;
  try {
    body = serializer.decode!(raw, { mediaType: contentType });
  } catch (err) {
    if (isStatusError(err)) throw err;
    throw undecodable(isStackOverflow(err) ? TOO_DEEP : ((err as Error)?.message ?? String(err)));
  }
  if (nestingExceeds(body, MAX_NESTING_DEPTH)) throw undecodable(TOO_DEEP);
  return body;
}
