/**
 * ABAC at scale: GET one pod as a user whose only matching rule is the last of a 1,000-line policy,
 * against the same GET under AlwaysAllow in the same run (both over HTTPS with a static token, the
 * same load generator, alternating rounds).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PKI } from '../../core/auth/pki.js';
import { CORE_V1 } from '../../core/client/types.js';
import { loadConfigFromObject } from '../../core/config/load.js';
import { createServer } from '../../core/server/server.js';
import { pod } from './fixtures.js';
import { runClient } from './https-run.js';
import { fmt, type Row } from './report.js';

async function serverWith(dataDir: string, authorizer: Record<string, unknown>) {
  mkdirSync(dataDir, { recursive: true });
  const tokens = join(dataDir, 'tokens.csv');
  writeFileSync(tokens, 'bench-token,bench,1000\n');
  const config = await loadConfigFromObject(
    {
      server: { dataDir, insecurePort: 'auto', securePort: 'auto', storageBackend: 'memory' },
      plugins: {
        'storage-memory': {},
        'api-watch-cache': {},
        'api-core-v1': {},
        'pki-local': {},
        'authn-token-file': { config: { tokenAuthFile: tokens } },
        ...authorizer,
      },
    },
    '(bench)',
  );
  const logger = pino({ level: 'error' });
  const server = await createServer({ config, role: 'apiserver', logger });
  const addresses = await server.listen();
  await server.client().create(CORE_V1('pods'), 'default', pod('web', 'default'));
  return {
    server,
    url: `https://127.0.0.1:${addresses.secure!.port}/api/v1/namespaces/default/pods/web`,
    ca: server.use(PKI).caCertificate(),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchAbac(seconds: number): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-abac-'));
  const lines: string[] = [];
  for (let i = 0; i < 999; i++)
    lines.push(JSON.stringify({ user: `user-${i}`, resource: 'pods', namespace: `ns-${i}` }));
  lines.push(JSON.stringify({ user: 'bench', resource: 'pods', readonly: true, namespace: 'default' }));
  const policyFile = join(dir, 'policy.jsonl');
  writeFileSync(policyFile, `${lines.join('\n')}\n`);
  const abac = await serverWith(join(dir, 'abac'), { 'authz-abac': { config: { policyFile } } });
  const allow = await serverWith(join(dir, 'allow'), { 'authz-always-allow': {} });
  try {
    const headers = { Authorization: 'Bearer bench-token' };
    const round = Math.max(2, Math.round(seconds / 3));
    const runs = { abac: [] as number[], allow: [] as number[], errors: 0 };
    for (const s of [abac, allow])
      await runClient({ mode: 'requests', url: s.url, ca: s.ca, headers, connections: 20, seconds: 1 });
    for (let i = 0; i < 3; i++) {
      for (const [name, s] of [
        ['abac', abac],
        ['allow', allow],
      ] as const) {
        const r = await runClient({ mode: 'requests', url: s.url, ca: s.ca, headers, connections: 20, seconds: round });
        runs[name].push(r.requestsPerSecond ?? 0);
        runs.errors += r.errors;
      }
    }
    const a = median(runs.abac);
    const b = median(runs.allow);
    return [
      {
        scenario: 'GET 1 pod under ABAC, 1,000-line policy, match on the last line',
        skiff: fmt.rps(a),
        baseline: `${fmt.rps(b)} (AlwaysAllow, same run)`,
        ratio: a / b,
        target: 'ratio >= 0.9',
        met: runs.errors === 0 && a / b >= 0.9,
      },
    ];
  } finally {
    await abac.server.close();
    await allow.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
