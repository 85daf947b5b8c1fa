/**
 * Security catalogue: secrets on disk that other local users could read.
 *
 * Skiff writes secret material to files: private keys (the CA, the serving and client
 * certificates, the service-account signing key), kubeconfigs with embedded credentials, the
 * SQLite store (every Secret, in the clear) and the audit log (who did what; at the Request levels,
 * request bodies, Secrets included). The attacks: a
 * local user reads such a file because it was created with the default mode 0644; or waits for
 * Skiff to overwrite a file that already exists with a wide mode, and reads the secret in the
 * moment before its mode is narrowed; or plants a symlink where Skiff will write, so the secret
 * lands in a file the attacker owns (chmod on the target does not stop its owner from reading it).
 *
 * Why it fails: every secret file is created 0600 (its directory 0700 when Skiff creates it), as
 * upstream's keyutil, clientcmd and audit log do, and as etcd keeps its data directory. Keys and
 * kubeconfigs are written to a new 0600 file beside the target and renamed over it, so a secret is
 * never readable under an older file's mode and never written through a symlink. The SQLite store
 * is created 0600 (its -wal and -shm files take its mode) in a 0700 directory, with or without a
 * PKI. An audit log or backup, or a store file, left readable by others is made 0600 at start, with
 * a warning; rotated logs are renamed, so they keep 0600.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { loadConfigFromObject } from '../../core/config/load.js';
import { createServer } from '../../core/server/server.js';
import { writePrivate } from '../../plugins/pki-local/private-files.js';
import { type Scratch, scratchDir } from '../helpers/security.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const BIN = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;
const modeOf = (path: string) => statSync(path).mode & 0o777;
const octal = (mode: number) => mode.toString(8).padStart(4, '0');

describe('security: secret files are readable by their owner only', function () {
  this.timeout(60_000);
  let scratch: Scratch;
  beforeEach(() => {
    scratch = scratchDir('file-modes');
  });
  afterEach(() => scratch.remove());

  it('a private key or kubeconfig is written 0600, even over a file that others could read', () => {
    const path = scratch.file('kubeconfig', 'old, harmless\n');
    chmodSync(path, 0o644);
    writePrivate(path, 'client-key-data: SECRET\n');
    expect(octal(modeOf(path))).to.equal('0600');
    expect(readFileSync(path, 'utf8')).to.equal('client-key-data: SECRET\n');
    expect(readdirSync(scratch.dir), 'no temporary file is left behind').to.deep.equal(['kubeconfig']);
  });

  it('a symlink planted at the path is replaced, and the secret never reaches the file it pointed to', () => {
    const planted = scratch.file('attacker-owned', 'nothing yet\n');
    const path = join(scratch.dir, 'admin.key');
    symlinkSync(planted, path);
    writePrivate(path, 'PRIVATE KEY\n');
    expect(readFileSync(planted, 'utf8')).to.equal('nothing yet\n');
    expect(lstatSync(path).isSymbolicLink()).to.equal(false);
    expect(octal(modeOf(path))).to.equal('0600');
  });

  it('skiff up writes its PKI keys, service-account key and admin kubeconfig 0600 in a 0700 directory', async () => {
    // As the default config: the service-account key pair is made for the plugin that signs tokens.
    const ts = await startTestServer({ secure: true, plugins: { 'authn-service-account': {} } });
    try {
      const pki = join(ts.dataDir, 'pki');
      expect(octal(modeOf(pki))).to.equal('0700');
      for (const key of ['ca.key', 'apiserver.key', 'admin.key', 'service-account.key']) {
        expect(octal(modeOf(join(pki, key))), key).to.equal('0600');
      }
      expect(octal(modeOf(ts.kubeconfig!))).to.equal('0600');
    } finally {
      await ts.close();
    }
  });

  it('a CA key left readable by others stops the server before it serves: it may already have leaked', async () => {
    const ts = await startTestServer({ secure: true, plugins: { 'authn-x509': {} } });
    await ts.close({ keepData: true });
    chmodSync(join(ts.dataDir, 'pki', 'ca.key'), 0o644);
    try {
      const restart = startTestServer({ dataDir: ts.dataDir, secure: true, plugins: { 'authn-x509': {} } });
      const err = await restart.then(
        async (again) => {
          await again.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect((err as { code?: string })?.code).to.equal('SKIFF_PKI_KEY_PERMISSIONS');
      expect((err as { fix?: string }).fix).to.contain('chmod 600');
    } finally {
      rmSync(ts.dataDir, { recursive: true, force: true });
    }
  });

  it('skiff kubeconfig --out writes 0600 over an existing world-readable file', async () => {
    const ts = await startTestServer({ secure: true });
    try {
      const out = scratch.file('jane.kubeconfig', 'placeholder\n');
      chmodSync(out, 0o644);
      const r = spawnSync(
        process.execPath,
        [BIN, 'kubeconfig', '--user', 'jane', '--out', out, '--data-dir', ts.dataDir],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status, r.stderr).to.equal(0);
      expect(octal(modeOf(out))).to.equal('0600');
      expect(readFileSync(out, 'utf8')).to.contain('client-key-data');
    } finally {
      await ts.close();
    }
  });

  describe('the SQLite store (it holds every Secret)', () => {
    it('is created 0600, its -wal too, in a 0700 data directory, even with no PKI (insecure port only)', async () => {
      const dataDir = join(scratch.dir, 'data');
      const ts = await startTestServer({ storage: 'sqlite', dataDir });
      try {
        const secret = { metadata: { name: 's' }, stringData: { password: 'hunter2' } };
        expect((await api(ts.url, 'POST', '/api/v1/namespaces/default/secrets', secret)).status).to.equal(201);
        expect(octal(modeOf(dataDir))).to.equal('0700');
        const files = readdirSync(dataDir).filter((f) => f.startsWith('skiff.db'));
        expect(files, 'the store and its write-ahead log').to.include.members(['skiff.db', 'skiff.db-wal']);
        for (const f of files) expect(octal(modeOf(join(dataDir, f))), f).to.equal('0600');
      } finally {
        await ts.close();
      }
    });

    it('a store left world-readable (by an older Skiff) is made 0600 at start, with a warning', async () => {
      const db = scratch.file('skiff.db', '');
      const wal = scratch.file('skiff.db-wal', '');
      chmodSync(db, 0o644);
      chmodSync(wal, 0o644);
      const lines: Record<string, unknown>[] = [];
      const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
      const config = await loadConfigFromObject(
        {
          server: { dataDir: scratch.dir, securePort: 0, storageBackend: 'sqlite' },
          plugins: { 'storage-sqlite': {} },
        },
        '(test)',
      );
      const server = await createServer({ config, role: 'apiserver', logger });
      try {
        // Checked while open: a clean close checkpoints the write-ahead log and removes it.
        expect(octal(modeOf(db))).to.equal('0600');
        expect(octal(modeOf(wal))).to.equal('0600');
      } finally {
        await server.close();
      }
      const warned = lines.filter((l) => String(l.msg).startsWith('SQLite store file was readable by others'));
      expect(warned.map((l) => [l.file, l.mode])).to.deep.equal([
        [db, '0644'],
        [wal, '0644'],
      ]);
    });
  });

  describe('the audit log', () => {
    let ts: TestServer | undefined;
    afterEach(async () => {
      await ts?.close();
      ts = undefined;
    });
    const start = (path: string, maxSizeMB = 100) =>
      startTestServer({ plugins: { 'audit-log': { config: { path, maxSizeMB, maxBackups: 2 } } } });

    it('is created 0600, in a 0700 directory when Skiff makes it', async () => {
      const path = join(scratch.dir, 'audit', 'audit.log');
      ts = await start(path);
      await api(ts.url, 'GET', '/api/v1/namespaces');
      await ts.close();
      ts = undefined;
      expect(octal(modeOf(join(scratch.dir, 'audit')))).to.equal('0700');
      expect(octal(modeOf(path))).to.equal('0600');
      expect(readFileSync(path, 'utf8')).to.contain('"kind":"Event"');
    });

    it('rotated backups keep 0600', async () => {
      const path = join(scratch.dir, 'audit.log');
      ts = await start(path, 0.001); // rotate at 1 KiB
      for (let i = 0; i < 20 && !existsSync(`${path}.1`); i++) {
        await api(ts.url, 'GET', '/api/v1/namespaces');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(existsSync(`${path}.1`), 'a backup was written').to.equal(true);
      expect(octal(modeOf(`${path}.1`))).to.equal('0600');
      expect(octal(modeOf(path))).to.equal('0600');
    });

    it('a log or backup left world-readable (by an older Skiff) is made 0600 at start, with a warning', async () => {
      const path = scratch.file('audit.log', '');
      const backup = scratch.file('audit.log.1', '');
      chmodSync(path, 0o644);
      chmodSync(backup, 0o644);
      const lines: Record<string, unknown>[] = [];
      const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
      const config = await loadConfigFromObject(
        {
          server: { dataDir: scratch.dir, securePort: 0, storageBackend: 'memory' },
          plugins: { 'storage-memory': {}, 'audit-log': { config: { path, maxBackups: 2 } } },
        },
        '(test)',
      );
      const server = await createServer({ config, role: 'apiserver', logger });
      await server.close();
      expect(octal(modeOf(path))).to.equal('0600');
      expect(octal(modeOf(backup))).to.equal('0600');
      const warned = lines.filter((l) => String(l.msg).startsWith('audit log file was readable by others'));
      expect(warned.map((l) => [l.file, l.mode])).to.deep.equal([
        [path, '0644'],
        [backup, '0644'],
      ]);
    });
  });
});
