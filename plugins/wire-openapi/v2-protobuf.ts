/**
 * The Swagger 2.0 document as gnostic's `openapi.v2.Document` protobuf message, the form kubectl
 * (client-go's discovery) asks for. Each message is a table from the JSON key to its field number
 * (numbers from gnostic-models' openapiv2/OpenAPIv2.proto); maps become repeated Named* entries,
 * oneofs pick their branch from the JSON shape, and x-* keys become vendor extensions whose value
 * is YAML text (gnostic's `Any.yaml`), which clients parse with a YAML parser.
 */
import { ProtoWriter } from 'skiff/sdk/wire';

type Obj = Record<string, unknown>;
/** Writes one field (or, for repeated fields, several) of a message. */
type FieldEnc = (w: ProtoWriter, num: number, value: unknown) => void;
/** Encodes a value as a message's bytes. */
type MessageEnc = (value: unknown) => Buffer;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

// ---------------------------------------------------------------- field encoders

// proto3 leaves out zero values: an absent field and "", false or 0 read back the same.
const string: FieldEnc = (w, num, v) => {
  if (typeof v === 'string' && v !== '') w.lengthDelimited(num, Buffer.from(v));
};
const bool: FieldEnc = (w, num, v) => {
  if (v === true) {
    w.tag(num, 0);
    w.varint(1);
  }
};
const int64: FieldEnc = (w, num, v) => {
  if (typeof v === 'number' && v !== 0) {
    w.tag(num, 0);
    w.varint(Math.trunc(v));
  }
};
const double: FieldEnc = (w, num, v) => {
  if (typeof v === 'number' && v !== 0) w.double(num, v);
};
const repeated =
  (f: FieldEnc): FieldEnc =>
  (w, num, v) => {
    for (const item of asArray(v)) f(w, num, item);
  };
const strings = repeated(string);
/**
 * A message field. The encoder comes from a thunk, called once, because messages nest themselves (a
 * Schema's properties are Schemas) and refer to messages defined further down.
 */
function message(enc: () => MessageEnc): FieldEnc {
  let cached: MessageEnc | undefined;
  return (w, num, v) => {
    cached ??= enc();
    w.lengthDelimited(num, cached(v));
  };
}

/**
 * JSON is YAML's flow style; with a space after every `:` and `,` it reads the same in YAML 1.1
 * parsers too (go-yaml v2, which kubectl 1.20 uses for vendor extensions).
 */
export function yamlText(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ');
}

/** gnostic's Any: 1 a google.protobuf.Any (unused for documents read from JSON), 2 the YAML text. */
const any = message(() => (v) => {
  const w = new ProtoWriter();
  w.lengthDelimited(2, Buffer.from(yamlText(v)));
  return w.finish();
});

/** NamedX { 1 name, 2 value }, from an [name, value] entry. */
function named(valueEnc: FieldEnc): FieldEnc {
  return (w, num, entry) => {
    const [name, value] = entry as [string, unknown];
    const e = new ProtoWriter();
    e.lengthDelimited(1, Buffer.from(name));
    valueEnc(e, 2, value);
    w.lengthDelimited(num, e.finish());
  };
}
const namedAny = named(any);

// ---------------------------------------------------------------- message encoders

/** A message from a table of JSON key → [field number, encoder]; x-* keys go to `ext` as NamedAny. */
function object(fields: Record<string, [number, FieldEnc]>, ext?: number): MessageEnc {
  const table = Object.entries(fields).sort(([, [a]], [, [b]]) => a - b);
  return (value) => {
    const w = new ProtoWriter();
    if (!isObject(value)) return w.finish();
    for (const [key, [num, enc]] of table) if (value[key] !== undefined) enc(w, num, value[key]);
    if (ext) for (const e of Object.entries(value)) if (e[0].startsWith('x-')) namedAny(w, ext, e);
    return w.finish();
  };
}

/** A JSON map as repeated Named* entries at `num`; x-* keys go to `ext` where the message has one. */
function map(valueEnc: FieldEnc, num: number, ext?: number): MessageEnc {
  const entry = named(valueEnc);
  return (value) => {
    const w = new ProtoWriter();
    if (!isObject(value)) return w.finish();
    for (const e of Object.entries(value)) {
      if (ext && e[0].startsWith('x-')) namedAny(w, ext, e);
      else entry(w, num, e);
    }
    return w.finish();
  };
}

/** A message holding a oneof: `pick` names the branch (field number, encoder) from the value's shape. */
function oneof(pick: (v: Obj) => [number, FieldEnc] | undefined): MessageEnc {
  return (value) => {
    const w = new ProtoWriter();
    const branch = isObject(value) ? pick(value) : undefined;
    if (branch) branch[1](w, branch[0], value);
    return w.finish();
  };
}

/** A message whose fields are numbered 1, 2, … in this order, vendor extensions next. */
function numbered(fields: [string, FieldEnc][]): MessageEnc {
  const table = Object.fromEntries(fields.map(([key, enc], i) => [key, [i + 1, enc] as [number, FieldEnc]]));
  return object(table, fields.length + 1);
}

// ---------------------------------------------------------------- openapi.v2 messages
// Thunks (`message(() => x)`) only where a message refers to one defined further down, or to itself.

const schemaField: FieldEnc = message(() => schema);
/** TypeItem { repeated string value = 1 }: `type` may be one name or a list. */
const typeItem: MessageEnc = (v) => {
  const w = new ProtoWriter();
  strings(w, 1, v);
  return w.finish();
};
/** ItemsItem { repeated Schema schema = 1 }: `items` may be one schema or a list. */
const itemsItem: MessageEnc = (v) => {
  const w = new ProtoWriter();
  repeated(schemaField)(w, 1, v);
  return w.finish();
};
/** AdditionalPropertiesItem: oneof { Schema schema = 1; bool boolean = 2 } (a oneof sends false too). */
const additionalProperties: MessageEnc = (v) => {
  const w = new ProtoWriter();
  if (typeof v === 'boolean') {
    w.tag(2, 0);
    w.varint(v ? 1 : 0);
  } else schemaField(w, 1, v);
  return w.finish();
};
const schema: MessageEnc = object(
  {
    $ref: [1, string],
    format: [2, string],
    title: [3, string],
    description: [4, string],
    default: [5, any],
    multipleOf: [6, double],
    maximum: [7, double],
    exclusiveMaximum: [8, bool],
    minimum: [9, double],
    exclusiveMinimum: [10, bool],
    maxLength: [11, int64],
    minLength: [12, int64],
    pattern: [13, string],
    maxItems: [14, int64],
    minItems: [15, int64],
    uniqueItems: [16, bool],
    maxProperties: [17, int64],
    minProperties: [18, int64],
    required: [19, strings],
    enum: [20, repeated(any)],
    additionalProperties: [21, message(() => additionalProperties)],
    type: [22, message(() => typeItem)],
    items: [23, message(() => itemsItem)],
    allOf: [24, repeated(schemaField)],
    properties: [25, message(() => map(schemaField, 1))],
    discriminator: [26, string],
    readOnly: [27, bool],
    example: [30, any],
  },
  31,
);

// Query, formData, path and header parameters and PrimitivesItems share this run of fields.
const PRIMITIVE: [string, FieldEnc][] = [
  ['type', string],
  ['format', string],
  ['items', message(() => primitivesItems)],
  ['collectionFormat', string],
  ['default', any],
  ['maximum', double],
  ['exclusiveMaximum', bool],
  ['minimum', double],
  ['exclusiveMinimum', bool],
  ['maxLength', int64],
  ['minLength', int64],
  ['pattern', string],
  ['maxItems', int64],
  ['minItems', int64],
  ['uniqueItems', bool],
  ['enum', repeated(any)],
  ['multipleOf', double],
];
const primitivesItems: MessageEnc = numbered(PRIMITIVE);
const HEAD: [string, FieldEnc][] = [
  ['required', bool],
  ['in', string],
  ['description', string],
  ['name', string],
];
/** QueryParameterSubSchema and FormDataParameterSubSchema. */
const queryParameter = message(() => numbered([...HEAD, ['allowEmptyValue', bool], ...PRIMITIVE]));
/** PathParameterSubSchema and HeaderParameterSubSchema. */
const pathParameter = message(() => numbered([...HEAD, ...PRIMITIVE]));
const NON_BODY: Record<string, [number, FieldEnc]> = {
  header: [1, pathParameter],
  formData: [2, queryParameter],
  query: [3, queryParameter],
  path: [4, pathParameter],
};
const bodyParameter = object(
  { description: [1, string], name: [2, string], in: [3, string], required: [4, bool], schema: [5, schemaField] },
  6,
);
const bodyField = message(() => bodyParameter);
const nonBodyField = message(() => oneof((q) => NON_BODY[String(q.in)]));
/** Parameter: oneof { BodyParameter = 1; NonBodyParameter = 2 (oneof header, formData, query, path) }. */
const parameter = oneof((p) => (p.in === 'body' ? [1, bodyField] : [2, nonBodyField]));
const parameterField = message(() => parameter);
const jsonReference = message(() => object({ $ref: [1, string], description: [2, string] }));
/** ParametersItem: oneof { Parameter = 1; JsonReference = 2 }. */
const parametersItem = oneof((p) => (typeof p.$ref === 'string' ? [2, jsonReference] : [1, parameterField]));

/** Response { description = 1, SchemaItem schema = 2 (oneof Schema = 1, FileSchema = 2) }. */
const response = object({ description: [1, string], schema: [2, message(() => oneof(() => [1, schemaField]))] }, 5);
const responseField = message(() => response);
/** ResponseValue: oneof { Response = 1; JsonReference = 2 }. */
const responseValue = oneof((r) => (typeof r.$ref === 'string' ? [2, jsonReference] : [1, responseField]));
const stringArray: MessageEnc = (v) => {
  const w = new ProtoWriter();
  strings(w, 1, v);
  return w.finish();
};
const securityRequirement = map(
  message(() => stringArray),
  1,
);

const operation = object(
  {
    tags: [1, strings],
    summary: [2, string],
    description: [3, string],
    operationId: [5, string],
    produces: [6, strings],
    consumes: [7, strings],
    parameters: [8, repeated(message(() => parametersItem))],
    responses: [9, message(() => responses)],
    schemes: [10, strings],
    deprecated: [11, bool],
    security: [12, repeated(message(() => securityRequirement))],
  },
  13,
);
const responses = map(
  message(() => responseValue),
  1,
  2,
);
const op = message(() => operation);
const pathItem = object(
  {
    $ref: [1, string],
    get: [2, op],
    put: [3, op],
    post: [4, op],
    delete: [5, op],
    options: [6, op],
    head: [7, op],
    patch: [8, op],
    parameters: [9, repeated(message(() => parametersItem))],
  },
  10,
);

const SECURITY: Record<string, [number, FieldEnc]> = {
  basic: [1, message(() => object({ type: [1, string], description: [2, string] }, 3))],
  apiKey: [
    2,
    message(() => object({ type: [1, string], name: [2, string], in: [3, string], description: [4, string] }, 5)),
  ],
};

const document = object(
  {
    swagger: [1, string],
    info: [2, message(() => object({ title: [1, string], version: [2, string], description: [3, string] }, 7))],
    host: [3, string],
    basePath: [4, string],
    schemes: [5, strings],
    consumes: [6, strings],
    produces: [7, strings],
    paths: [
      8,
      message(() =>
        map(
          message(() => pathItem),
          2,
          1,
        ),
      ),
    ],
    definitions: [9, message(() => map(schemaField, 1))],
    parameters: [10, message(() => map(parameterField, 1))],
    security: [12, repeated(message(() => securityRequirement))],
    securityDefinitions: [
      13,
      message(() =>
        map(
          message(() => oneof((s) => SECURITY[String(s.type)])),
          1,
        ),
      ),
    ],
    tags: [14, repeated(message(() => object({ name: [1, string], description: [2, string] }, 4)))],
  },
  16,
);

/** The Swagger 2.0 document (JSON-shaped values) as an `openapi.v2.Document` message. */
export function encodeSwaggerProtobuf(doc: object): Buffer {
  return document(doc);
}
