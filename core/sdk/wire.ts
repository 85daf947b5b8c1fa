/**
 * skiff/sdk/wire: format plugins (protobuf, OpenAPI documents). The serializer a plugin contributes
 * with `ctx.provide.serializer`, and the schema table of the built-in kinds' messages (field
 * names, numbers and types, as upstream's generated.proto files give them).
 */
export {
  allMessageNames,
  type FieldSchema,
  META,
  type MessageSchema,
  message,
  messageForKind,
  packageOf,
  SCALARS,
} from '../wire/schema.js';
export type { Serializer, SerializerContext } from '../wire/serializer.js';
