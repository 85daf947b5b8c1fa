/**
 * The media types the API speaks: JSON (and YAML for request bodies) in core, plus the serializers
 * plugins contributed (wire-protobuf's protobuf). Content negotiation for responses and watches,
 * the decoder of a request body's media type, and the lists 406 and 415 answers name.
 */
import type Koa from 'koa';
import { errors } from '../errors.js';
import type { Serializer } from '../wire/serializer.js';

/** What a response goes out as: core's JSON, or a contributed serializer. */
export type ResponseFormat = 'json' | Serializer;

/** The request body types core reads itself. */
const CORE_BODY_TYPES = ['application/json', 'application/yaml'];

export class MediaTypes {
  private readonly decoders = new Map<string, Serializer>();
  private readonly encoders = new Map<string, Serializer>();
  private readonly watchEncoders = new Map<string, Serializer>();
  /** Every request body media type (for 415): JSON, YAML, then each serializer that decodes. */
  readonly bodyTypes: readonly string[];

  constructor(serializers: readonly Serializer[] = []) {
    for (const s of serializers) {
      if (s.decode) this.decoders.set(s.mediaType.toLowerCase(), s);
      if (s.encode) this.encoders.set(s.mediaType, s);
      if (s.encodeWatchEvent) this.watchEncoders.set(s.mediaType, s);
    }
    this.bodyTypes = [...CORE_BODY_TYPES, ...this.decoders.keys()];
  }

  /** The serializer that reads request bodies of this media type (lower case, no parameters). */
  decoder(mediaType: string): Serializer | undefined {
    return this.decoders.get(mediaType);
  }

  /**
   * What to answer in: JSON whenever the client accepts it (no Accept header, application/json or
   * a wildcard, wherever listed), otherwise the first contributed media type it accepts
   * that can encode this answer (a watch needs a watch encoder). Undefined: nothing acceptable.
   */
  negotiate(accept: string, watch = false): ResponseFormat | undefined {
    if (!accept) return 'json';
    const offered = watch ? this.watchEncoders : this.encoders;
    let found: Serializer | undefined;
    for (const part of accept.split(',')) {
      const media = part.split(';')[0]!.trim();
      if (media === 'application/json' || media === '*/*' || media === 'application/*') return 'json';
      found ??= offered.get(media);
    }
    return found;
  }

  /** As negotiate, or upstream's 406 naming every media type that could have been answered. */
  require(accept: string, watch = false): ResponseFormat {
    const format = this.negotiate(accept, watch);
    if (format) return format;
    const offered = watch ? this.watchEncoders : this.encoders;
    throw errors.notAcceptable(['application/json', ...offered.keys()].join(', '));
  }
}

/** The body in a plugin's media type; undefined when the answer is JSON or the kind has no such form. */
export function serialized(format: ResponseFormat | undefined, body: unknown): Buffer | undefined {
  if (!format || format === 'json') return undefined;
  return format.encode!(body, { mediaType: format.mediaType });
}

/** The answer in a plugin's media type; 406 when this kind has no form in it. */
export function writeSerialized(ctx: Koa.Context, serializer: Serializer, body: unknown): void {
  const encoded = serialized(serializer, body);
  if (!encoded) throw errors.notAcceptable(`application/json (this kind has no ${serializer.mediaType} form)`);
  ctx.set('Content-Type', serializer.mediaType);
  ctx.body = encoded;
}
