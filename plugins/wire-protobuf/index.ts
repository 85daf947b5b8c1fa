/**
 * wire-protobuf: Kubernetes' protobuf wire format (application/vnd.kubernetes.protobuf) as a
 * serializer: request bodies (kubectl's typed commands send them), responses for clients that
 * accept only protobuf (Status errors byte for byte as upstream's), and the protobuf watch stream.
 * On in config/default.yaml. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { decodeProtobuf } from './decode.js';
import { PROTOBUF_MEDIA_TYPE } from './names.js';
import { protobufResponses } from './responses.js';

export default definePlugin({
  name: 'wire-protobuf',
  description: 'Kubernetes protobuf (application/vnd.kubernetes.protobuf) for request bodies, responses and watches.',
  setup(ctx) {
    // One encoder per server: its caches are keyed by the objects that server serves.
    const responses = protobufResponses();
    ctx.provide.serializer({
      mediaType: PROTOBUF_MEDIA_TYPE,
      decode: (raw) => (raw.length === 0 ? undefined : decodeProtobuf(raw)),
      encode: (body) => responses.encode(body),
      encodeWatchEvent: (event) => responses.watchFrame(event),
    });
  },
});
