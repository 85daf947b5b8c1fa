/**
 * A Status as upstream's generated (gogo) marshaller writes it, byte for byte: fields in number
 * order, and every non-pointer field present even when empty (only `details` is a pointer). The
 * schema-driven encoder writes present fields in JSON order, which decodes the same but differs.
 */
import { canonicalStatus, ProtoWriter, type StatusDetails, type StatusLike } from 'skiff/sdk/wire';
import { wrapEnvelope } from './encode.js';

function text(w: ProtoWriter, num: number, value: unknown): void {
  w.lengthDelimited(num, Buffer.from(typeof value === 'string' ? value : ''));
}

function int(w: ProtoWriter, num: number, value: number | undefined): void {
  w.tag(num, 0);
  w.varint(value ?? 0);
}

function statusDetailsBytes(d: StatusDetails): Buffer {
  const w = new ProtoWriter();
  text(w, 1, d.name);
  text(w, 2, d.group);
  text(w, 3, d.kind);
  for (const c of d.causes ?? []) {
    const cause = new ProtoWriter();
    text(cause, 1, c.reason);
    text(cause, 2, c.message);
    text(cause, 3, c.field);
    w.lengthDelimited(4, cause.finish());
  }
  int(w, 5, d.retryAfterSeconds);
  text(w, 6, d.uid);
  return w.finish();
}

export function encodeStatusProtobuf(s: StatusLike): Buffer {
  const status = canonicalStatus(s);
  const listMeta = new ProtoWriter();
  text(listMeta, 1, status.metadata.selfLink);
  text(listMeta, 2, status.metadata.resourceVersion);
  text(listMeta, 3, status.metadata.continue);
  const w = new ProtoWriter();
  w.lengthDelimited(1, listMeta.finish());
  text(w, 2, status.status);
  text(w, 3, status.message);
  text(w, 4, status.reason);
  if (status.details) w.lengthDelimited(5, statusDetailsBytes(status.details));
  int(w, 6, status.code);
  return wrapEnvelope('v1', 'Status', w.finish());
}
