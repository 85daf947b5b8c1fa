/**
 * The scheduler's own HTTP port: /healthz, /livez, /readyz and /metrics, in plain HTTP on a
 * loopback address only (upstream's old --address/--port pair, 10251). Upstream 1.32 serves these
 * on an HTTPS port (10259) guarded by delegated authentication and authorization; a port that only
 * this machine can reach needs neither, and serves nothing that could be abused.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SkiffError } from 'skiff/sdk';
import type { SchedulerComponent } from './component.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function checkLoopback(address: string, flag: string): void {
  if (LOOPBACK.test(address)) return;
  throw new SkiffError(
    'SKIFF_SCHEDULER_ADDRESS_NOT_LOOPBACK',
    `${flag} is ${address}: the scheduler's metrics and health port is plain HTTP without authentication, so it only listens on loopback`,
    `give ${flag} 127.0.0.1 (or ::1), and reach the port from this machine`,
  );
}

export async function serveHealthAndMetrics(
  component: SchedulerComponent,
  address: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  checkLoopback(address, '--address');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      component.metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'Content-Type': component.metrics.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
      return;
    }
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new SkiffError(
              'SKIFF_PORT_IN_USE',
              `cannot listen on ${address}:${port} (--port): another process is listening there`,
              'stop that process, give another --port, or --port 0 to serve no metrics',
            )
          : err,
      ),
    );
    server.listen(port, address, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
