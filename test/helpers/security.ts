/**
 * Helpers for the attack catalogue (test/security/): a scratch directory for policy and credential
 * files, HTTPS requests that send the path exactly as written (no client-side normalisation of `..`
 * or `%2e`), and raw TLS exchanges for framing attacks a well-behaved HTTP client cannot send.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { KeyPair } from '../../plugins/pki-local/certificates.js';

/** Where to connect: a TestServer, or any server given by its HTTPS URL and CA. */
export interface HttpsTarget {
  secureUrl?: string;
  pki?: { ca: { certPem: string } };
}

export interface Scratch {
  dir: string;
  /** Writes a file (mode 0600) and returns its path. */
  file(name: string, text: string): string;
  remove(): void;
}

export function scratchDir(prefix: string): Scratch {
  const dir = mkdtempSync(join(tmpdir(), `skiff-${prefix}-`));
  return {
    dir,
    file(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field, as with api() in server.ts
  body: any;
}

export interface HttpsOptions {
  method?: string;
  /** Bearer token. */
  token?: string;
  /** Client certificate and key. */
  client?: KeyPair;
  headers?: Record<string, string | string[]>;
  /** An object is sent as JSON; a string or Buffer as it is. */
  body?: unknown;
  contentType?: string;
  /** A keep-alive agent (races); default: a fresh connection per request. */
  agent?: Agent;
  timeoutMs?: number;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One HTTPS request to the server's secure port; the path goes on the wire exactly as given. */
export function httpsRequest(ts: HttpsTarget, path: string, options: HttpsOptions = {}): Promise<HttpsAnswer> {
  const url = new URL(ts.secureUrl!);
  const headers: Record<string, string | string[]> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let payload: string | Buffer | undefined;
  if (options.body !== undefined) {
    payload =
      typeof options.body === 'string' || Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] = options.contentType ?? 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? 'GET',
        ca: ts.pki!.ca.certPem,
        cert: options.client?.certPem,
        key: options.client?.keyPem,
        headers,
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parseJson(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${options.method ?? 'GET'} ${path} in time`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `bytes` on a fresh TLS connection and reads until the server closes it or stays silent
 * for `idleMs`; returns every HTTP response found in what came back, in order.
 */
export function rawTlsExchange(
  ts: HttpsTarget,
  bytes: string | Buffer,
  options: { idleMs?: number; client?: KeyPair } = {},
): Promise<RawResponse[]> {
  const url = new URL(ts.secureUrl!);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      ca: ts.pki!.ca.certPem,
      cert: options.client?.certPem,
      key: options.client?.keyPem,
      servername: 'localhost',
    });
    let idle: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(idle);
      socket.destroy();
      resolve(parseResponses(Buffer.concat(chunks)));
    };
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(finish, options.idleMs ?? 500);
    };
    socket.on('secureConnect', () => {
      socket.write(bytes);
      arm();
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      arm();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (err) => (chunks.length ? finish() : reject(err)));
  });
}

/** Splits a byte stream into HTTP/1.1 responses (Content-Length or chunked bodies). */
export function parseResponses(data: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const [statusLine, ...lines] = data.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    at = headEnd + 4;
    let body = '';
    if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const lineEnd = data.indexOf('\r\n', at);
        if (lineEnd < 0) break;
        const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
        at = lineEnd + 2;
        if (!size) {
          at += 2;
          break;
        }
        body += data.subarray(at, at + size).toString('utf8');
        at += size + 2;
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = data.subarray(at, at + length).toString('utf8');
      at += length;
    }
    out.push({ status, headers, body });
  }
  return out;
}

/** A token-file line: token,user,uid[,"group,group"]. */
export function tokenLine(token: string, user: string, uid: string, groups: string[] = []): string {
  return `${token},${user},${uid}${groups.length ? `,"${groups.join(',')}"` : ''}\n`;
}
