/**
 * A serializer contributed by a plugin (`ctx.provide.serializer`): one media type the API can read
 * request bodies in and answer in, beside JSON and YAML (protobuf is the example upstream ships).
 * Every hook is optional: a media type is accepted for request bodies only with `decode`, offered
 * for responses only with `encode`, and for watches only with `encodeWatchEvent`. JSON stays the
 * answer whenever the client's Accept header allows it (application/json or a wildcard, wherever
 * listed); a serializer answers the clients that accept its media type and not JSON.
 */
export interface SerializerContext {
  /** The request's Content-Type, parameters included (decode), or the serializer's media type (encode). */
  mediaType: string;
}

export interface Serializer {
  /** The media type without parameters: "application/vnd.kubernetes.protobuf". */
  mediaType: string;
  /**
   * A request body in this media type → the JSON-shaped object; throw a StatusError (400) when it
   * is unreadable. Any other error thrown is answered as a 400 too, and the server refuses a result
   * nested deeper than request bodies may be (skiff/sdk/wire MAX_NESTING_DEPTH).
   */
  decode?(raw: Buffer, ctx: SerializerContext): unknown;
  /**
   * A response body (object, list or an error's Status) → bytes; undefined when this kind has no
   * such form: the client then gets 406, as upstream answers a kind without a protobuf form.
   */
  encode?(object: unknown, ctx: SerializerContext): Buffer | undefined;
  /**
   * One watch event as a frame of this media type's watch stream, which goes out as
   * `<mediaType>;stream=watch` (upstream's name for every framed, non-JSON stream); undefined for
   * an event with no such form, which then goes out as its JSON line.
   */
  encodeWatchEvent?(event: { type: string; object: object }): Buffer | undefined;
}
