/** The etcd3 client as storage-etcd uses it: TLS from files, deadlines, no blind retries, a bounded connect. */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { rootCertificates } from 'node:tls';
import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, type IOptions, isRecoverableError } from 'etcd3';
import type { Logger } from 'pino';
import { SkiffError } from 'skiff/sdk/storage';

export interface EtcdConnectionOptions {
  /** Client URLs, http:// or https:// (kube-apiserver's --etcd-servers). */
  servers: string[];
  /** PEM files: the CA that signed etcd's serving certificate, and Skiff's client certificate and key. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** How long open() waits for etcd to answer (default 20 s, like kube-apiserver's dial timeout). */
  dialTimeoutMs?: number;
  /** Deadline of each request (default 10 s); watches have none. */
  requestTimeoutMs?: number;
}

const FILE_KEYS = {
  caFile: 'plugins.storage-etcd.caFile (--etcd-cafile)',
  certFile: 'plugins.storage-etcd.certFile (--etcd-certfile)',
  keyFile: 'plugins.storage-etcd.keyFile (--etcd-keyfile)',
} as const;

function readPem(options: EtcdConnectionOptions, key: keyof typeof FILE_KEYS): Buffer | undefined {
  const path = options[key];
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SkiffError(
      'SKIFF_STORAGE_ETCD_TLS',
      `cannot read ${FILE_KEYS[key]} ${path}: ${(err as Error).message}`,
      `give a readable PEM file in ${FILE_KEYS[key]}`,
    );
  }
}

export function createClient(options: EtcdConnectionOptions): Etcd3 {
  const ca = readPem(options, 'caFile');
  const cert = readPem(options, 'certFile');
  const key = readPem(options, 'keyFile');
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const config: IOptions = {
    hosts: options.servers,
    // Without a CA file, trust the CAs Node ships with (as Go's clients trust the system's).
    credentials:
      ca || cert
        ? { rootCertificate: ca ?? Buffer.from(rootCertificates.join('\n')), certChain: cert, privateKey: key }
        : undefined,
    grpcOptions: {
      // Lists of many objects exceed gRPC's default 4 MiB per message.
      'grpc.max_receive_message_length': -1,
      // Find a dead connection under an idle watch; etcd refuses pings more often than every 5 s.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
    faultHandling: {
      // No blind retries: a write whose answer was lost may have been applied, and retrying a
      // create would then report KeyExists for our own key. Callers (and API clients) retry. A call
      // gRPC never sent (no connection to that member) is tried on the next member, though: else a
      // dead member among several fails a request each time its breaker lets one through to test it.
      global:
        options.servers.length > 1 ? retry(handleWhen(neverSent), { maxAttempts: options.servers.length - 1 }) : noop,
      // A server that failed three times in a row is skipped for 2 s (fail over to the next one).
      host: () =>
        circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 2000, breaker: new ConsecutiveBreaker(3) }),
    },
  };
  return new Etcd3(config);
}

/** gRPC failed the call before sending it: it had no connection to that member (its picker failed the call). */
export const neverSent = (err: Error): boolean => err.message.includes('No connection established');

/** Waits until etcd answers (within the dial timeout) and returns its version; never leaves a failure unexplained. */
export async function waitForEtcd(client: Etcd3, options: EtcdConnectionOptions, logger?: Logger): Promise<string> {
  const timeoutMs = options.dialTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  for (;;) {
    try {
      const status = await client.maintenance.status({});
      checkVersion(status.version, options.servers);
      return status.version;
    } catch (err) {
      if (err instanceof SkiffError) throw err;
      if (Date.now() >= deadline) throw connectError(options, timeoutMs, err as Error);
      if (++attempts === 1) logger?.warn({ servers: options.servers, err }, 'etcd does not answer yet; retrying');
      await sleep(250);
    }
  }
}

function checkVersion(version: string, servers: string[]): void {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > 3 || (major === 3 && minor >= 4)) return;
  throw new SkiffError(
    'SKIFF_STORAGE_ETCD_VERSION',
    `etcd at ${servers.join(',')} is version ${version}; storage-etcd needs 3.4 or newer (watch progress requests)`,
    'upgrade etcd (Debian: apt-get install etcd-server)',
  );
}

function connectError(options: EtcdConnectionOptions, timeoutMs: number, err: Error): SkiffError {
  const tls = options.servers.some((s) => s.startsWith('https:'));
  return new SkiffError(
    'SKIFF_STORAGE_ETCD_CONNECT',
    `cannot reach etcd at ${options.servers.join(',')} within ${timeoutMs / 1000} s: ${err.message}`,
    tls
      ? 'start etcd, check plugins.storage-etcd.servers (--etcd-servers), and that caFile, certFile and keyFile (--etcd-cafile, --etcd-certfile, --etcd-keyfile) match the certificates etcd was started with'
      : 'start etcd (e.g. `etcd` listens on http://127.0.0.1:2379), or point plugins.storage-etcd.servers (--etcd-servers) at it',
  );
}
