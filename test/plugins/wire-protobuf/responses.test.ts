/** wire-protobuf's response encoder: lists stitched from cached items decode back to the same objects. */
import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import { decodeProtobuf } from '../../../plugins/wire-protobuf/decode.js';
import { protobufResponses } from '../../../plugins/wire-protobuf/responses.js';

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', resourceVersion: rv, creationTimestamp: '2026-11-24T10:00:00Z' },
  data: { k: name },
});
const list = {
  apiVersion: 'v1',
  kind: 'ConfigMapList',
  metadata: { resourceVersion: '9' },
  items: [cm('a', '1'), cm('b', '2')],
};

describe('wire-protobuf: response encoder', () => {
  const { encode: encodeProtobufResponse } = protobufResponses();

  it('encodes lists as protobuf that decode back to the same items', () => {
    const decoded = decodeProtobuf(encodeProtobufResponse(list)!) as typeof list;
    expect(decoded.kind).to.equal('ConfigMapList');
    expect(decoded.metadata).to.deep.equal({ resourceVersion: '9' });
    expect(decoded.items.map((i) => i.metadata.name)).to.deep.equal(['a', 'b']);
    expect((decoded.items[1] as unknown as { data: object }).data).to.deep.equal({ k: 'b' });
  });

  it('has no protobuf form for kinds without a schema', () => {
    expect(encodeProtobufResponse({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: {} })).to.equal(undefined);
  });
});
