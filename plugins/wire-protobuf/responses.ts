/**
 * Response bodies and watch frames in protobuf. Objects served from the watch cache are shared and
 * never mutated, so each is encoded once (WeakMaps keyed by the object, one set per server), and
 * lists are stitched together from their items' cached bytes instead of encoding every item again.
 */
import type { KubeObject } from 'skiff/sdk';
import { isStatusBody, messageForKind } from 'skiff/sdk/wire';
import { encodeBytesFields, encodeMessageBytes, wrapEnvelope } from './encode.js';
import { encodeStatusProtobuf } from './status.js';

/** Only stored objects (they carry a resourceVersion) are immutable and worth caching. */
const cacheable = (obj: object) => Boolean((obj as KubeObject).metadata?.resourceVersion);

export interface ProtobufResponses {
  /** The object, list or Status in the protobuf envelope; undefined when its kind has no protobuf form. */
  encode(body: unknown): Buffer | undefined;
  /** One watch event as a frame of client-go's protobuf watch stream; undefined: no protobuf form. */
  watchFrame(event: { type: string; object: object }): Buffer | undefined;
}

export function protobufResponses(): ProtobufResponses {
  const messages = new WeakMap<object, Buffer>();
  const frames = new WeakMap<object, Buffer>();

  function messageBytes(obj: KubeObject, apiVersion: string, kind: string): Buffer | undefined {
    let buf = messages.get(obj);
    if (!buf) {
      const schema = messageForKind(apiVersion, kind);
      if (!schema) return undefined;
      buf = encodeMessageBytes(schema, obj as unknown as Record<string, unknown>);
      if (cacheable(obj)) messages.set(obj, buf);
    }
    return buf;
  }

  function encode(body: unknown): Buffer | undefined {
    if (isStatusBody(body)) return encodeStatusProtobuf(body);
    const b = body as { apiVersion?: string; kind?: string; items?: KubeObject[]; metadata?: unknown };
    const apiVersion = String(b?.apiVersion ?? '');
    const kind = String(b?.kind ?? '');
    if (!Array.isArray(b?.items)) {
      const bytes = messageBytes(body as KubeObject, apiVersion, kind);
      return bytes && wrapEnvelope(apiVersion, kind, bytes);
    }
    const list = messageForKind(apiVersion, kind);
    const itemKind = kind.replace(/List$/, '');
    if (!list || !messageForKind(apiVersion, itemKind)) return undefined;
    const head = encodeMessageBytes(list, { metadata: b.metadata });
    const items = b.items.map((item) => messageBytes(item, apiVersion, itemKind)!);
    // Field 2 of every List message is its items.
    const itemFields = encodeBytesFields(items.map((item): [number, Buffer] => [2, item]));
    return wrapEnvelope(apiVersion, kind, Buffer.concat([head, itemFields]));
  }

  /**
   * A 4-byte big-endian length, then a metav1.WatchEvent message (no envelope) whose object is a
   * RawExtension holding the object in the usual `k8s\0` envelope. Events are shared by every
   * watcher, so each frame is built once.
   */
  function watchFrame(e: { type: string; object: object }): Buffer | undefined {
    let frame = frames.get(e);
    if (frame) return frame;
    const object = encode(e.object);
    if (!object) return undefined;
    const raw = encodeBytesFields([[1, object]]); // RawExtension.raw
    const event = encodeBytesFields([
      [1, Buffer.from(e.type)],
      [2, raw],
    ]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(event.length);
    frame = Buffer.concat([length, event]);
    frames.set(e, frame);
    return frame;
  }

  return { encode, watchFrame };
}
