/**
 * What the HTTPS client needs to read the API's answers: Status bodies back into StatusErrors, transport failures into coded errors, and
 * a watch stream's JSON lines split across arbitrary chunk boundaries.
 */
import { StringDecoder } from 'node:string_decoder';
import { SkiffError, type Status, StatusError, type StatusReason } from '../errors.js';

// What upstream's client reports when an answer carries no Status of its own.
const REASONS: Record<number, StatusReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A non-2xx answer as the StatusError the in-process client would have thrown. */
export function statusErrorOf(code: number, text: string): StatusError {
  let status: Partial<Status> | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<Status>;
    if (parsed && parsed.kind === 'Status') status = parsed;
  } catch {
    // not JSON: a proxy's or a load balancer's page; described from the code alone
  }
  const reason = (status?.reason as StatusReason | undefined) ?? REASONS[code] ?? 'InternalError';
  const message =
    status?.message ?? `the server answered ${code}${text ? `: ${text.slice(0, 200).trim()}` : ' with no body'}`;
  return new StatusError(status?.code ?? code, reason, message, status?.details);
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A request that got no answer. Deliberately not a StatusError: controllers only swallow the
 * Statuses they expect (404, 409), so this one propagates and they try again later.
 */
export function transportError(server: string, err: NodeJS.ErrnoException): SkiffError {
  const tls = TLS_CODES.has(err.code ?? '') || /^ERR_(TLS|SSL)_/.test(err.code ?? '');
  const out = tls
    ? new SkiffError(
        'SKIFF_API_TLS',
        `the TLS handshake with ${server} failed: ${err.message}`,
        "trust the CA that signed the API server's certificate (certificate-authority in the kubeconfig) and use an address the certificate names",
      )
    : new SkiffError(
        'SKIFF_API_UNREACHABLE',
        `cannot reach the API server at ${server}: ${err.code ?? err.message}`,
        'start the API server (skiff apiserver), or check --master or the server in the kubeconfig',
      );
  (out as Error).cause = err;
  return out;
}

/**
 * Splits a watch stream into its JSON lines. A chunk may end mid-line and even mid-character
 * (the string decoder keeps partial UTF-8 sequences), so only complete lines are parsed.
 */
export class JsonLineDecoder {
  private readonly utf8 = new StringDecoder('utf8');
  // Pieces of the current unfinished line: kept apart so a large object arriving in many chunks
  // is joined once rather than re-scanned on every chunk.
  private pending: string[] = [];

  push(chunk: Buffer): unknown[] {
    const text = this.utf8.write(chunk);
    const last = text.lastIndexOf('\n');
    if (last < 0) {
      if (text) this.pending.push(text);
      return [];
    }
    const complete = this.pending.join('') + text.slice(0, last);
    this.pending = last + 1 < text.length ? [text.slice(last + 1)] : [];
    return parseLines(complete);
  }

  /** What is left when the stream ends: a last line without its newline. */
  end(): unknown[] {
    const rest = this.pending.join('') + this.utf8.end();
    this.pending = [];
    return parseLines(rest);
  }
}

function parseLines(text: string): unknown[] {
  const out: unknown[] = [];
  for (const line of text.split('\n')) {
    if (line.trim()) out.push(JSON.parse(line));
  }
  return out;
}
