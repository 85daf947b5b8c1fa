/**
 * Two kinds of error leave Skiff:
 *  - StatusError: an API error, serialised as a metav1.Status with upstream's reason and code.
 *  - SkiffError: an operator-facing error (config, start-up, CLI) with a stable code and a fix.
 */

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'ServerTimeout'
  | 'Timeout'
  | 'TooManyRequests'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'Expired'
  | 'ServiceUnavailable'
  /** Upstream's StatusReasonUnknown: what an error that is not a Status becomes (the reason is left out). */
  | '';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  /** Left out when 0, as upstream's omitempty does (a delete's Success Status has none). */
  code?: number;
}

/** Any Status-shaped value: what toStatus() returns, what a strategy answers a DELETE with. */
export type StatusLike = Partial<Omit<Status, 'kind' | 'apiVersion'>>;

const has = (v: unknown): boolean => v !== undefined && v !== null && v !== '' && v !== 0;

/** Keeps the non-empty of `keys`, in that order: Go's encoding of a struct whose fields are omitempty. */
function pick(source: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (source as Record<string, unknown>)[k];
    if (has(v)) out[k] = v;
  }
  return out;
}

const LIST_META_FIELDS = ['selfLink', 'resourceVersion', 'continue', 'remainingItemCount'] as const;
const DETAILS_FIELDS = ['name', 'group', 'kind', 'uid'] as const;
const CAUSE_FIELDS = ['reason', 'message', 'field'] as const;

function canonicalDetails(d: StatusDetails): StatusDetails {
  const out: StatusDetails = pick(d, DETAILS_FIELDS);
  if (d.causes?.length) out.causes = d.causes.map((c) => pick(c, CAUSE_FIELDS));
  if (d.retryAfterSeconds) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

/**
 * A Status as kube-apiserver writes it: keys in the Go struct's order (TypeMeta's kind and
 * apiVersion, then metadata, status, message, reason, details, code) and every omitempty field left
 * out when empty. `metadata` (a struct) and `details` (a pointer) stay even when empty, as in Go.
 */
export function canonicalStatus(s: StatusLike): Status {
  const out: Status = { kind: 'Status', apiVersion: 'v1', metadata: pick(s.metadata ?? {}, LIST_META_FIELDS) };
  if (s.status) out.status = s.status;
  if (s.message) out.message = s.message;
  if (s.reason) out.reason = s.reason;
  if (s.details) out.details = canonicalDetails(s.details);
  if (s.code) out.code = s.code;
  return out;
}

// Go's encoding/json escapes these inside strings (HTML-safe output); JSON.stringify does not.
const GO_ESCAPED = /[<>&\u2028\u2029]/g;
const goEscape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** The Status's JSON text as Go's encoding/json writes it (no trailing newline: for embedding). */
export function statusJson(s: StatusLike): string {
  return JSON.stringify(canonicalStatus(s)).replace(GO_ESCAPED, goEscape);
}

/**
 * The one encoder of every Status body the server sends: upstream's serializer is a
 * json.Encoder, which ends each document with a newline.
 */
export function encodeStatus(s: StatusLike): string {
  return `${statusJson(s)}\n`;
}

export function isStatusBody(body: unknown): body is Status {
  const b = body as Partial<Status> | null;
  return typeof b === 'object' && b !== null && b.kind === 'Status' && b.apiVersion === 'v1';
}

export class StatusError extends Error {
  override readonly name = 'StatusError';
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Status {
    return canonicalStatus({
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code,
    });
  }
}

/**
 * Whether `err` is a StatusError. Checked by shape, not instanceof: a third-party plugin may bring
 * its own copy of Skiff's SDK, and its StatusErrors must still reach the client as such.
 */
export function isStatusError(err: unknown): err is StatusError {
  const e = err as Partial<StatusError> | null;
  return !!e && e.name === 'StatusError' && typeof e.code === 'number' && typeof e.toStatus === 'function';
}

/** A group-qualified resource, as upstream prints it: "pods", "leases.coordination.k8s.io". */
export interface QualifiedResource {
  group: string;
  resource: string;
}

export function qualifiedName(r: QualifiedResource): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

/** A validation failure on one field, shaped like upstream's field.Error. */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueTypeInvalid';
  field: string;
  /** Upstream's "detail": why the value is wrong. */
  detail?: string;
  value?: unknown;
  /** For NotSupported: the values that would be accepted. */
  supported?: string[];
}

const FIELD_ERROR_TEXT: Record<FieldError['type'], string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
};

/** Upstream's field.Error.ErrorBody(): "Invalid value: \"Foo\": a lowercase RFC 1123 ..." */
export function fieldErrorBody(e: FieldError): string {
  let s = FIELD_ERROR_TEXT[e.type];
  const showValue =
    e.type === 'FieldValueInvalid' ||
    e.type === 'FieldValueNotSupported' ||
    e.type === 'FieldValueDuplicate' ||
    e.type === 'FieldValueTooMany';
  if (showValue && e.value !== undefined) s += `: ${JSON.stringify(e.value)}`;
  if (e.type === 'FieldValueNotSupported' && e.supported?.length) {
    s += `: supported values: ${e.supported.map((v) => `"${v}"`).join(', ')}`;
  } else if (e.detail) {
    s += `: ${e.detail}`;
  }
  return s;
}

export const errors = {
  badRequest: (message: string) => new StatusError(400, 'BadRequest', message),
  unauthorized: (message = 'Unauthorized') => new StatusError(401, 'Unauthorized', message),
  forbidden: (r: QualifiedResource, name: string, reason: string) =>
    new StatusError(403, 'Forbidden', `${qualifiedName(r)}${name ? ` "${name}"` : ''} is forbidden: ${reason}`, {
      name: name || undefined,
      group: r.group,
      kind: r.resource,
    }),
  notFound: (r: QualifiedResource, name: string) =>
    new StatusError(404, 'NotFound', `${qualifiedName(r)} "${name}" not found`, {
      name,
      group: r.group,
      kind: r.resource,
    }),
  notFoundPath: () => new StatusError(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (r: QualifiedResource, name: string) =>
    new StatusError(409, 'AlreadyExists', `${qualifiedName(r)} "${name}" already exists`, {
      name,
      group: r.group,
      kind: r.resource,
    }),
  conflict: (r: QualifiedResource, name: string, why: string) =>
    new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedName(r)} "${name}": ${why}`, {
      name,
      group: r.group,
      kind: r.resource,
    }),
  /** The object changed since the client read it (optimistic concurrency). */
  staleResourceVersion: (r: QualifiedResource, name: string) =>
    errors.conflict(
      r,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
    ),
  invalid: (kind: string, group: string, name: string, fieldErrors: FieldError[]) => {
    const bodies = fieldErrors.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
    const summary = bodies.length === 1 ? bodies[0] : `[${bodies.join(', ')}]`;
    // Upstream prints the group-qualified kind: `Lease.coordination.k8s.io "x" is invalid`.
    const qualifiedKind = group ? `${kind}.${group}` : kind;
    return new StatusError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
      name,
      group,
      kind,
      causes: fieldErrors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
    });
  },
  /** Upstream's router answer (NewGenericServerResponse): its details are present and empty. */
  methodNotAllowed: () =>
    new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  notAcceptable: (accepted: string) =>
    new StatusError(406, 'NotAcceptable', `only the following media types are accepted: ${accepted}`),
  headersTooLarge: () =>
    new StatusError(
      431,
      'BadRequest',
      'Request Header Fields Too Large: the request headers are larger than the server accepts',
    ),
  tooLarge: (limitBytes: number) =>
    new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limitBytes}`),
  unsupportedMediaType: (contentType: string, accepted: string[]) =>
    new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format (${contentType || 'none'}) - accepted media types include: ${accepted.join(', ')}`,
    ),
  expired: (message: string) => new StatusError(410, 'Expired', message),
  gone: (message: string) => new StatusError(410, 'Gone', message),
  tooManyRequests: (message: string, retryAfterSeconds = 1) =>
    new StatusError(429, 'TooManyRequests', message, { retryAfterSeconds }),
  /** Upstream's NewInternalError: the cause's text is repeated as the one cause. */
  internal: (message: string) =>
    new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }),
  /** An error upstream returns as a plain Go error: a 500 without a reason, the message as is. */
  unknown: (message: string) => new StatusError(500, '', message),
  serviceUnavailable: (message: string) => new StatusError(503, 'ServiceUnavailable', message),
  timeout: (message: string) => new StatusError(504, 'Timeout', message),
  /** Upstream's storage.NewTooLargeResourceVersionError: a read at a revision storage has not reached. */
  tooLargeResourceVersion: (requested: number, current: number) =>
    new StatusError(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
};

/**
 * An operator-facing error: config, start-up and CLI problems. `code` is stable and greppable
 * (SKIFF_CONFIG_UNKNOWN_PLUGIN, ...); `fix` tells the operator what to do about it.
 */
export class SkiffError extends Error {
  override readonly name = 'SkiffError';
  constructor(
    readonly code: string,
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }

  /** What the CLI prints. */
  describe(): string {
    return `error ${this.code}: ${this.message}\n  fix: ${this.fix}`;
  }
}
