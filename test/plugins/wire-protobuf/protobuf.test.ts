/** wire-protobuf's codec: round trips through upstream's wire shapes, and bad bodies as clear 400s. */
import { expect } from 'chai';
import { isStatusError } from '../../../core/errors.js';
import { messageForKind } from '../../../core/wire/schema.js';
import { decodeProtobuf } from '../../../plugins/wire-protobuf/decode.js';
import { encodeProtobuf } from '../../../plugins/wire-protobuf/encode.js';

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web',
    namespace: 'default',
    labels: { app: 'web' },
    creationTimestamp: '2026-11-24T10:00:00Z',
    generation: 3,
    managedFields: [
      { manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } },
    ],
  },
  spec: {
    containers: [
      {
        name: 'c',
        image: 'tomcat:9',
        ports: [{ containerPort: 8080, protocol: 'TCP' }],
        resources: { limits: { cpu: '500m', memory: '1.5Gi' } },
        // ProbeHandler is an inlined struct: httpGet sits directly in the probe's JSON.
        livenessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 },
        readinessProbe: { tcpSocket: { port: 8080 } },
      },
    ],
    // A pointer field: zero is a value, not "unset".
    terminationGracePeriodSeconds: 0,
    // Volume.volumeSource is inlined too.
    volumes: [{ name: 'data', emptyDir: {} }],
  },
  status: { phase: 'Running', startTime: '2026-11-24T10:00:01Z' },
};

function statusOf(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (isStatusError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a Status error');
}

describe('wire-protobuf: codec', () => {
  it('maps apiVersion + kind to upstream messages, meta/v1 kinds for every group', () => {
    expect(messageForKind('v1', 'Pod')?.name).to.equal('k8s.io.api.core.v1.Pod');
    expect(messageForKind('coordination.k8s.io/v1', 'Lease')?.name).to.equal('k8s.io.api.coordination.v1.Lease');
    expect(messageForKind('v1', 'Status')?.name).to.equal('k8s.io.apimachinery.pkg.apis.meta.v1.Status');
    expect(messageForKind('authorization.k8s.io/v1', 'SelfSubjectAccessReview')).to.not.equal(undefined);
    expect(messageForKind('v1', 'Frobnicator')).to.equal(undefined);
  });

  it('round-trips a pod with quantities, int-or-strings, times, inlined structs and managedFields', () => {
    const bytes = encodeProtobuf(pod)!;
    expect(bytes.subarray(0, 4).toString('latin1')).to.equal('k8s\0');
    expect(decodeProtobuf(bytes)).to.deep.equal(pod);
  });

  it('drops omitempty zero values as Go JSON does, but keeps pointer zeros', () => {
    // kubectl sends every non-pointer field: empty strings and zeros must not become values.
    const ns = decodeProtobuf(
      Buffer.from(
        '6b3873000a0f0a0276311209 4e616d657370616365121b0a130a03666f6f12001a00220 02a00320038004200120 01a020a001a002200'.replace(
          /\s/g,
          '',
        ),
        'hex',
      ),
    );
    expect(ns).to.deep.equal({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'foo' }, spec: {}, status: {} });
    const decoded = decodeProtobuf(encodeProtobuf(pod)!) as typeof pod;
    expect(decoded.spec.terminationGracePeriodSeconds).to.equal(0);
  });

  it('decodes negative numbers and secret bytes', () => {
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { a: Buffer.from('hi').toString('base64') },
      type: 'Opaque',
    };
    expect(decodeProtobuf(encodeProtobuf(secret)!)).to.deep.equal(secret);
    const event = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, involvedObject: {}, count: -5 };
    expect((decodeProtobuf(encodeProtobuf(event)!) as typeof event).count).to.equal(-5);
  });

  it('turns a truncated body into a 400 that says why', () => {
    const bytes = encodeProtobuf(pod)!;
    const s = statusOf(() => decodeProtobuf(bytes.subarray(0, bytes.length - 7)));
    expect(s.code).to.equal(400);
    expect(s.message).to.match(/could not be decoded as protobuf: .*(past the end|truncated)/);
  });

  it('refuses a body without the k8s envelope, and a kind that does not exist', () => {
    expect(statusOf(() => decodeProtobuf(Buffer.from('{"kind":"Pod"}'))).message).to.contain('envelope');
    const bogus = encodeProtobuf({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })!;
    // Rewrite the kind in the envelope: "Pod" → "Pox".
    const i = bogus.indexOf('Pod');
    bogus.write('Pox', i);
    const s = statusOf(() => decodeProtobuf(bogus));
    expect(s.code).to.equal(400);
    expect(s.message).to.contain('no kind "Pox" is registered for version "v1"');
  });

  it('rejects garbage after the envelope prefix with a 400, never a crash', () => {
    for (const tail of ['ff', 'ffffffffffffffffffffff', '0a', '0aff01', '07', '12ffffffff0f00']) {
      const s = statusOf(() => decodeProtobuf(Buffer.from(`6b387300${tail}`, 'hex')));
      expect(s.code, tail).to.equal(400);
    }
  });
});
