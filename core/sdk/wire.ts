/**
 * skiff/sdk/wire: format plugins (protobuf, OpenAPI documents). The serializer a plugin contributes
 * with `ctx.provide.serializer`, the schema table of the built-in kinds' messages (field names,
 * numbers and types, as upstream's generated.proto files give them), a protobuf writer, the Status
 * helpers an encoder needs, and the depth limit every request body decoder keeps to.
 */
export { isStackOverflow, MAX_NESTING_DEPTH, nestingExceeds, TOO_DEEP } from '../api/depth.js';
export {
  canonicalStatus,
  isStatusBody,
  type Status,
  type StatusDetails,
  type StatusLike,
} from '../errors.js';
export { KUBERNETES_VERSION } from '../server/discovery.js';
export { ProtoWriter } from '../wire/proto-writer.js';
export {
  allMessageNames,
  type FieldSchema,
  META,
  type MessageSchema,
  message,
  messageForKind,
  OPAQUE_TYPES,
  packageOf,
  SCALARS,
} from '../wire/schema.js';
export type { Serializer, SerializerContext } from '../wire/serializer.js';
