/**
 * A serializer contributed by a plugin (`ctx.provide.serializer`): one media type the API can read
 * request bodies in and answer in, beside JSON and YAML (protobuf is the example upstream ships).
 * Every hook is optional; `undefined` from an encoder means "this object has no form in my media
 * type", and the server then answers as it would without the serializer.
 */
export interface SerializerContext {
  /** The request's Content-Type (decode) or the chosen Accept entry (encode), parameters included. */
  mediaType: string;
}

export interface Serializer {
  /** The media type without parameters: "application/vnd.kubernetes.protobuf". */
  mediaType: string;
  /** A request body in this media type → the JSON-shaped object; throw a StatusError (400) if unreadable. */
  decode?(raw: Buffer, ctx: SerializerContext): unknown;
  /** A response object (or Status) → bytes; undefined when this kind has no such form. */
  encode?(object: unknown, ctx: SerializerContext): Buffer | undefined;
  /** One watch event as a frame of this media type's watch stream; undefined: fall back to JSON. */
  encodeWatchEvent?(event: { type: string; object: object }): Buffer | undefined;
}
