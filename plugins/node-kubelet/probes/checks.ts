/**
 * The probe actions (the seed's 3.4.3: ExecAction, TCPSocketAction, HTTPGetAction, and gRPC since
 * 1.27), each answering success or failure with upstream's output text. Lifecycle hooks reuse the
 * exec and HTTP ones.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { ContainerPort, HTTPGetAction } from 'kubernetes-types/core/v1.js';
import { type ContainerRuntime, isRuntimeError } from 'skiff/sdk/runtime';
import { KUBERNETES_VERSION } from 'skiff/sdk/wire';

export interface CheckResult {
  ok: boolean;
  output: string;
}

const USER_AGENT = `kube-probe/${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}`;
const MAX_BODY = 10 * 1024;
const MAX_REDIRECTS = 10;

/** A port by number, or by the name of one of the container's ports. */
export function resolvePort(port: number | string | undefined, ports: ContainerPort[] | undefined): number {
  if (typeof port === 'number') return port;
  if (port !== undefined && /^\d+$/.test(port)) return Number(port);
  const named = ports?.find((p) => p.name === port);
  if (!named) throw new Error(`couldn't find port: ${port} in container`);
  return named.containerPort;
}

export async function execCheck(
  runtime: ContainerRuntime,
  id: string,
  command: string[],
  timeoutSeconds: number,
): Promise<CheckResult> {
  try {
    const r = await runtime.execSync(id, command, timeoutSeconds);
    const output = Buffer.concat([r.stdout, r.stderr]).toString('utf8');
    return { ok: r.exitCode === 0, output };
  } catch (err) {
    if (isRuntimeError(err, 'DeadlineExceeded')) {
      return { ok: false, output: `command "${command.join(' ')}" timed out` };
    }
    return { ok: false, output: (err as Error).message };
  }
}

export function tcpCheck(host: string, port: number, timeoutSeconds: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: CheckResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutSeconds * 1000, () =>
      done({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` }),
    );
    socket.once('connect', () => done({ ok: true, output: '' }));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done({ ok: false, output: `dial tcp ${host}:${port}: connect: ${describe(err)}` }),
    );
  });
}

function describe(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'EHOSTUNREACH') return 'no route to host';
  if (err.code === 'ENETUNREACH') return 'network is unreachable';
  return err.message;
}

/**
 * upstream's HTTP probe: GET with its User-Agent and Accept, the action's headers (Host among them);
 * 200–399 is success. Redirects are followed on the same host; a redirect elsewhere is not
 * followed and counts as success, as upstream's ("Probe terminated redirects").
 */
export async function httpCheck(
  action: HTTPGetAction,
  podIP: string,
  port: number,
  timeoutSeconds: number,
): Promise<CheckResult> {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const host = action.host || podIP;
  const path = action.path ? (action.path.startsWith('/') ? action.path : `/${action.path}`) : '/';
  let url = new URL(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`);
  const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: '*/*' };
  for (const h of action.httpHeaders ?? []) headers[h.name] = h.value;
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (let hop = 0; ; hop++) {
    let res: { status: number; body: string; location?: string };
    try {
      res = await get(url, headers, Math.max(1, deadline - Date.now()));
    } catch (err) {
      return { ok: false, output: `Get "${url.href}": ${(err as Error).message}` };
    }
    if (res.status >= 300 && res.status < 400 && res.location && hop < MAX_REDIRECTS) {
      const next = new URL(res.location, url);
      if (next.hostname !== url.hostname) return { ok: true, output: 'Probe terminated redirects' };
      url = next;
      continue;
    }
    if (res.status >= 200 && res.status < 400) return { ok: true, output: res.body };
    return { ok: false, output: `HTTP probe failed with statuscode: ${res.status}` };
  }
}

function get(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      { method: 'GET', headers, rejectUnauthorized: false, agent: false },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8'),
            location: res.headers.location,
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')),
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code ? new Error(`dial tcp ${url.host}: connect: ${describe(err)}`) : err),
    );
    req.end();
  });
}
