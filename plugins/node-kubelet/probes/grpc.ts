/**
 * The gRPC probe: one grpc.health.v1.Health/Check call over HTTP/2 (node:http2, no gRPC library):
 * the request and answer are single length-prefixed protobuf messages of one field each, so they
 * are written and read by hand. Outputs are upstream's.
 */
import { connect, constants } from 'node:http2';
import type { CheckResult } from './checks.js';

const STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const GRPC_CODES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    bytes.push(b);
  } while (n);
  return Buffer.from(bytes);
}

/** HealthCheckRequest{service} in a gRPC frame (no compression). */
export function healthRequest(service: string): Buffer {
  const name = Buffer.from(service);
  const message = name.length ? Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]) : Buffer.alloc(0);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** HealthCheckResponse.status from a gRPC frame (field 1, a varint); 0 (UNKNOWN) when absent. */
export function healthStatus(frame: Buffer): number {
  const message = frame.subarray(5, 5 + frame.readUInt32BE(1));
  for (let i = 0; i < message.length; ) {
    const tag = message[i++]!;
    if (tag === 0x08) {
      let value = 0;
      let shift = 0;
      for (;;) {
        const b = message[i++]!;
        value |= (b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) return value;
      }
    }
    return 0;
  }
  return 0;
}

export function grpcCheck(host: string, port: number, service: string, timeoutSeconds: number): Promise<CheckResult> {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve) => {
    let settled = false;
    const session = connect(`http://${address}`);
    const finish = (result: CheckResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, output: `timeout: health rpc did not complete within ${timeoutSeconds}s` }),
      timeoutSeconds * 1000,
    );
    // gRPC's blocking dial retries a refused connection until the deadline: upstream reports that.
    let connected = false;
    const connectFailure = () => ({
      ok: false,
      output: `timeout: failed to connect service "${address}" within ${timeoutSeconds}s: context deadline exceeded`,
    });
    session.on('connect', () => {
      connected = true;
    });
    session.on('error', () => finish(connectFailure()));
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    const noteStatus = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) grpcMessage = decodeURIComponent(String(h['grpc-message']));
    };
    stream.on('response', noteStatus);
    stream.on('trailers', noteStatus);
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err) =>
      finish(connected ? { ok: false, output: `error: health rpc probe failed: ${err.message}` } : connectFailure()),
    );
    stream.on('end', () => {
      if (grpcStatus !== undefined && grpcStatus !== '0') {
        const code = GRPC_CODES[Number(grpcStatus)] ?? grpcStatus;
        return finish({
          ok: false,
          output: `error: health rpc probe failed: rpc error: code = ${code} desc = ${grpcMessage}`,
        });
      }
      const body = Buffer.concat(chunks);
      const status = body.length >= 5 ? healthStatus(body) : 0;
      if (status === 1) return finish({ ok: true, output: 'service healthy' });
      finish({ ok: false, output: `service unhealthy (responded with "${STATUS_NAMES[status] ?? status}")` });
    });
    stream.end(healthRequest(service));
  });
}
