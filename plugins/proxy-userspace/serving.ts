/**
 * kube-proxy's /healthz (healthzBindAddress) and /metrics (metricsBindAddress), on plain HTTP as
 * upstream. /healthz answers 200 with upstream's JSON fields once the first sync has happened
 * and the proxier has synced within the last minute, else 503.
 */
import { createServer, type Server } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import type { Proxier } from './proxier.js';

const HEALTHY_WITHIN_MS = 60_000;

function healthz(proxier: Proxier): { code: number; body: string } {
  const now = new Date();
  const healthy = proxier.syncs > 0 && now.getTime() - proxier.lastSync < HEALTHY_WITHIN_MS;
  const body = JSON.stringify({
    lastUpdated: proxier.lastSync ? new Date(proxier.lastSync).toISOString() : '',
    currentTime: now.toISOString(),
  });
  return { code: healthy ? 200 : 503, body };
}

function metricsRegistry(proxier: Proxier): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
    help: 'The last time the proxy applied the services and endpoints it serves.',
    registers: [registry],
    collect() {
      this.set(proxier.lastSync / 1000);
    },
  });
  new Gauge({
    name: 'skiff_proxy_listeners',
    help: 'Addresses and ports the proxy listens on.',
    registers: [registry],
    collect() {
      this.set(proxier.served().length);
    },
  });
  return registry;
}

/** Serves on "host:port"; resolves with the server and the port bound. */
export function serve(
  address: string,
  what: 'healthz' | 'metrics',
  proxier: Proxier,
): Promise<{ server: Server; port: number }> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  const registry = what === 'metrics' ? metricsRegistry(proxier) : undefined;
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (registry && path === '/metrics') {
      res.writeHead(200, { 'Content-Type': registry.contentType }).end(await registry.metrics());
    } else if (path === '/healthz' || path === '/livez') {
      const { code, body } = healthz(proxier);
      res.writeHead(code, { 'Content-Type': 'application/json' }).end(body);
    } else {
      res.writeHead(404).end('404 page not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address();
      resolve({ server, port: typeof bound === 'object' && bound ? bound.port : port });
    });
  });
}
