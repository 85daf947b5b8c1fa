/**
 * One side of the overload benchmark (overload.ts) in a process of its own, so /proc shows the
 * server's memory alone: HTTPS with a static token for a user outside system:masters (whom the
 * limits exempt), the server settings given as JSON. Prints its URL and CA, serves until stdin closes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PKI } from '../../core/auth/pki.js';
import { loadConfigFromObject } from '../../core/config/load.js';
import { createServer } from '../../core/server/server.js';
import { OVERLOAD_MARK, OVERLOAD_TOKEN } from './overload.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-overload-'));
const tokenFile = join(dataDir, 'tokens.csv');
writeFileSync(tokenFile, `${OVERLOAD_TOKEN},bench,1000,"developers"\n`);
const config = await loadConfigFromObject(
  {
    server: { dataDir, insecurePort: 0, securePort: 'auto', storageBackend: 'memory', ...settings },
    plugins: {
      'storage-memory': {},
      'api-watch-cache': {},
      'api-core-v1': {},
      'pki-local': {},
      'authn-token-file': { config: { tokenAuthFile: tokenFile } },
      'authz-always-allow': {},
    },
  },
  '(bench)',
);
const logger = pino({ level: 'warn' });
const server = await createServer({ config, role: 'apiserver', logger });
const { secure } = await server.listen();
console.log(
  `${OVERLOAD_MARK}${JSON.stringify({ url: `https://127.0.0.1:${secure!.port}`, ca: server.use(PKI).caCertificate() })}`,
);
process.stdin.resume();
process.stdin.on('end', () => {
  void server.close().finally(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
});
