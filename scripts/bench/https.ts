/**
 * Secure serving: GET one pod over HTTPS with keep-alive, authenticated by a client certificate, a
 * static token and a service-account JWT, each against the same GET on the insecure port; and new TLS
 * connections per second against a bare Node https server with the same certificate.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { CORE_V1 } from '../../core/client/types.js';
import { loadConfigFromObject } from '../../core/config/load.js';
import { createServer as createSkiff } from '../../core/server/server.js';
import { ensurePki } from '../../plugins/pki-local/layout.js';
import { pod } from './fixtures.js';
import { type ClientResult, runClient } from './https-run.js';
import { fmt, type Row } from './report.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchHttps(seconds: number): Promise<Row[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-tls-'));
  const tokenFile = join(dataDir, 'tokens.csv');
  writeFileSync(tokenFile, 'bench-token,bench,1000\n');
  const logger = pino({ level: 'warn' });
  const config = await loadConfigFromObject(
    {
      server: { dataDir, insecurePort: 'auto', securePort: 'auto', storageBackend: 'sqlite' },
      plugins: {
        'storage-sqlite': {},
        'api-watch-cache': {},
        'api-core-v1': {},
        'pki-local': {},
        'authn-x509': {},
        'authn-token-file': { config: { tokenAuthFile: tokenFile } },
        'authn-service-account': {},
        'authz-always-allow': {},
      },
    },
    '(bench)',
  );
  const server = await createSkiff({ config, role: 'apiserver', logger });
  const addresses = await server.listen();
  const pki = ensurePki(dataDir); // what pki-local made
  const bare = createServer({ cert: pki.apiserver.certPem, key: pki.apiserver.keyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', () => r()));
  // The ceiling: what TLS itself costs Node on this machine, bare servers answering the pod's bytes.
  let podBytes = Buffer.alloc(0);
  const bareTls = createServer({ cert: pki.apiserver.certPem, key: pki.apiserver.keyPem }, (_q, r) => r.end(podBytes));
  const barePlain = createHttpServer((_q, r) => r.end(podBytes));
  await new Promise<void>((r) => bareTls.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => barePlain.listen(0, '127.0.0.1', () => r()));
  try {
    const client = server.client();
    await client.create(CORE_V1('pods'), 'default', pod('web', 'default'));
    await client.create(CORE_V1('serviceaccounts'), 'default', { metadata: { name: 'bench' } });
    const insecure = `http://127.0.0.1:${addresses.insecure!.port}`;
    const tokenRequest = (await (
      await fetch(`${insecure}/api/v1/namespaces/default/serviceaccounts/bench/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }),
      })
    ).json()) as { status: { token: string } };
    const path = '/api/v1/namespaces/default/pods/web';
    const secure = `https://127.0.0.1:${addresses.secure!.port}${path}`;
    const ca = pki.ca.certPem;
    podBytes = Buffer.from(await (await fetch(`${insecure}${path}`)).arrayBuffer());
    const scenarios: [string, object][] = [
      ['bare Node http', { url: `http://127.0.0.1:${(barePlain.address() as AddressInfo).port}/` }],
      ['bare Node https', { url: `https://127.0.0.1:${(bareTls.address() as AddressInfo).port}/`, ca }],
      ['insecure port (plain HTTP)', { url: `${insecure}${path}` }],
      ['HTTPS, client certificate', { url: secure, ca, cert: pki.admin.certPem, key: pki.admin.keyPem }],
      ['HTTPS, static token', { url: secure, ca, headers: { Authorization: 'Bearer bench-token' } }],
      [
        'HTTPS, service-account JWT',
        { url: secure, ca, headers: { Authorization: `Bearer ${tokenRequest.status.token}` } },
      ],
    ];
    const round = Math.max(2, Math.round(seconds / 3));
    const results = new Map<string, ClientResult[]>(scenarios.map(([n]) => [n, []]));
    for (const [, opts] of scenarios) await runClient({ mode: 'requests', connections: 20, seconds: 1, ...opts });
    for (let i = 0; i < 3; i++) {
      for (const [name, opts] of scenarios) {
        results.get(name)!.push(await runClient({ mode: 'requests', connections: 20, seconds: round, ...opts }));
      }
    }
    const rps = (n: string) => median(results.get(n)!.map((r) => r.requestsPerSecond ?? 0));
    const p99 = (n: string) => median(results.get(n)!.map((r) => r.p99Ms ?? Number.NaN));
    const errs = (n: string) => results.get(n)!.reduce((a, r) => a + r.errors, 0);
    const plain = 'insecure port (plain HTTP)';
    const rows: Row[] = [
      {
        scenario: 'reference: bare Node https vs bare Node http, same bytes',
        skiff: `${fmt.rps(rps('bare Node https'))}, p99 ${fmt.ms(p99('bare Node https'))}`,
        baseline: `${fmt.rps(rps('bare Node http'))} (bare Node http)`,
        ratio: rps('bare Node https') / rps('bare Node http'),
        target: "report (TLS's own cost here)",
        met: true,
      },
    ];
    rows.push(
      ...scenarios.slice(3).map(([name]) => ({
        scenario: `GET 1 pod, keep-alive, 20 conns: ${name}`,
        skiff: `${fmt.rps(rps(name))}, p99 ${fmt.ms(p99(name))}`,
        baseline: `${fmt.rps(rps(plain))} (insecure port, same generator)`,
        ratio: rps(name) / rps(plain),
        target: 'ratio >= 0.8',
        met: errs(name) === 0 && rps(name) / rps(plain) >= 0.8,
      })),
    );
    const handshakes: { skiff: number[]; bare: number[] } = { skiff: [], bare: [] };
    const bareUrl = `https://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
    for (let i = 0; i < 3; i++) {
      const s = await runClient({ mode: 'handshakes', url: secure, ca, connections: 8, seconds: 2 });
      const b = await runClient({ mode: 'handshakes', url: bareUrl, ca, connections: 8, seconds: 2 });
      handshakes.skiff.push(s.handshakesPerSecond ?? 0);
      handshakes.bare.push(b.handshakesPerSecond ?? 0);
    }
    const hs = median(handshakes.skiff);
    const hb = median(handshakes.bare);
    rows.push({
      scenario: 'new TLS connections (handshakes), 8 parallel',
      skiff: `${fmt.rps(hs)}`,
      baseline: `${fmt.rps(hb)} (bare Node https, same certificate)`,
      ratio: hs / hb,
      target: 'ratio >= 0.8',
      met: hs / hb >= 0.8,
    });
    return rows;
  } finally {
    bare.close();
    bareTls.close();
    barePlain.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
