/**
 * The names the codec knows: the media type, the `k8s\0` envelope prefix, and the well-known
 * apimachinery messages that have a JSON form of their own (Time as RFC 3339, Quantity and
 * IntOrString as scalars, RawExtension and FieldsV1 as embedded objects).
 */
import { META } from 'skiff/sdk/wire';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
export const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export const TIME = `${META}.Time`;
export const MICRO_TIME = `${META}.MicroTime`;
export const DURATION = `${META}.Duration`;
export const FIELDS_V1 = `${META}.FieldsV1`;
export const QUANTITY = 'k8s.io.apimachinery.pkg.api.resource.Quantity';
export const INT_OR_STRING = 'k8s.io.apimachinery.pkg.util.intstr.IntOrString';
export const RAW_EXTENSION = 'k8s.io.apimachinery.pkg.runtime.RawExtension';

export type Obj = Record<string, unknown>;
