/**
 * Chapter: old TLS versions and weak cipher suites.
 *
 * The attack: talk the API server down to a protocol or cipher suite with known breaks (TLS 1.0 and
 * 1.1: BEAST, SHA-1/MD5 handshake signatures, deprecated by RFC 8996; NULL, anonymous, RC4, 3DES and
 * export suites: no authentication or trivially breakable encryption; static-RSA key exchange: no
 * forward secrecy), or tire it out with client-initiated renegotiation on TLS 1.2.
 *
 * The upstream defence: kube-apiserver serves TLS 1.2 and 1.3 only (--tls-min-version VersionTLS12
 * is the default), with Go's default suites, which since Go 1.22 offer only ECDHE key exchange
 * before TLS 1.3; Go's TLS server never accepts a renegotiation.
 *
 * Where Skiff implements it: core/server/tls-options.ts (minVersion TLSv1.2 and Go 1.23's default
 * TLS 1.2 suites, ECDHE only, in Go's order, the server's order deciding; upstream's
 * --tls-min-version and --tls-cipher-suites change them) used by core/server/secure-serving.ts;
 * Node's TLS layer limits renegotiations (tls.CLIENT_RENEG_LIMIT, 3 per 10 minutes) and closes the
 * connection after that.
 *
 * The client below lowers its own OpenSSL security level (DEFAULT@SECLEVEL=0) so that it really
 * offers TLS 1.0/1.1 and the weak suites; a permissive control server proves it does, so a refusal
 * by Skiff is Skiff's refusal and not the client's.
 */
import {
  type ConnectionOptions,
  connect,
  createSecureContext,
  createServer,
  type Server,
  type TLSSocket,
} from 'node:tls';
import { expect } from 'chai';
import { loadConfigFromObject } from '../../core/config/load.js';
import type { SkiffError } from '../../core/errors.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const WEAK = 'DEFAULT@SECLEVEL=0';

interface Handshake {
  protocol?: string | null;
  cipher?: string;
  error?: string;
}

function handshake(port: number, ca: string, options: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options });
    socket.setTimeout(10_000, () => socket.destroy(new Error('handshake timed out')));
    socket.on('secureConnect', () => {
      resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

/** Whether this OpenSSL can build a client context for the offer at all. */
function offerable(options: ConnectionOptions): boolean {
  try {
    createSecureContext(options);
    return true;
  } catch {
    return false;
  }
}

/** An HTTP/1.1 GET over an established TLS socket; resolves with the status code. */
function getOver(socket: TLSSocket, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (status && text.includes('\r\n\r\n')) resolve(Number(status[1]));
    });
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  });
}

describe('security: TLS versions and cipher suites', function () {
  this.timeout(20_000);
  let ts: TestServer;
  let port: number;
  let ca: string;
  let permissive: Server;
  let permissivePort: number;

  before(async () => {
    ts = await startTestServer({ secure: true, plugins: { 'authn-x509': {} } });
    port = Number(new URL(ts.secureUrl!).port);
    ca = ts.pki!.ca.certPem;
    // The control: the same certificate served by a server that still takes TLS 1.0 and every suite.
    const { certPem, keyPem } = ts.pki!.apiserver;
    permissive = createServer(
      { cert: certPem, key: keyPem, minVersion: 'TLSv1', ciphers: 'ALL:eNULL@SECLEVEL=0' },
      (s) => s.end(),
    );
    await new Promise<void>((resolve) => permissive.listen(0, '127.0.0.1', resolve));
    permissivePort = (permissive.address() as { port: number }).port;
  });
  after(async () => {
    permissive?.close();
    await ts?.close();
  });

  for (const version of ['TLSv1', 'TLSv1.1'] as const) {
    it(`a ${version} handshake is refused with a protocol_version alert`, async () => {
      const offer: ConnectionOptions = { minVersion: version, maxVersion: version, ciphers: WEAK };
      const control = await handshake(permissivePort, ca, offer);
      expect(control.protocol, 'the client really offers it (a permissive server accepts)').to.equal(version);
      const refused = await handshake(port, ca, offer);
      expect(refused).to.deep.equal({ error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    });
  }

  it('a client offering TLS 1.0 to 1.3 is not talked down: it gets TLS 1.3', async () => {
    const r = await handshake(port, ca, { minVersion: 'TLSv1', maxVersion: 'TLSv1.3', ciphers: WEAK });
    expect(r.protocol).to.equal('TLSv1.3');
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${version} works, with a forward-secret AEAD suite, and serves requests`, async () => {
      const r = await handshake(port, ca, { minVersion: version, maxVersion: version });
      expect(r.protocol).to.equal(version);
      expect(r.cipher).to.match(version === 'TLSv1.3' ? /^TLS_(AES|CHACHA20)/ : /^ECDHE-.*(GCM|CHACHA20)/);
      const admin = ts.pki!.admin;
      const socket = connect({
        host: '127.0.0.1',
        port,
        ca,
        servername: 'localhost',
        minVersion: version,
        maxVersion: version,
        cert: admin.certPem,
        key: admin.keyPem,
      });
      try {
        await new Promise((resolve, reject) => socket.on('secureConnect', resolve).on('error', reject));
        expect(await getOver(socket, '/version')).to.equal(200);
      } finally {
        socket.destroy();
      }
    });
  }

  it('NULL, anonymous, MD5 (and RC4, 3DES, DES, export where OpenSSL still has them) on TLS 1.2 → handshake_failure', async () => {
    const tried: string[] = [];
    for (const suite of ['eNULL', 'aNULL', 'MD5', 'RC4', '3DES', 'DES', 'EXPORT']) {
      const offer: ConnectionOptions = {
        minVersion: 'TLSv1.2',
        maxVersion: 'TLSv1.2',
        ciphers: `${suite}@SECLEVEL=0`,
        rejectUnauthorized: false,
      };
      if (!offerable(offer)) continue; // this OpenSSL no longer has the suite at all
      tried.push(suite);
      const control = await handshake(permissivePort, ca, offer);
      expect(control.protocol, `${suite}: the permissive control takes it`).to.equal('TLSv1.2');
      expect(await handshake(port, ca, offer), suite).to.deep.equal({ error: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' });
    }
    expect(tried).to.include.members(['eNULL', 'aNULL', 'MD5']);
  });

  // Node's default list (HIGH) still has static-RSA suites such as AES256-SHA and AES128-GCM-SHA256;
  // Go 1.22+ (kube-apiserver 1.32) no longer offers them, and neither does Skiff's explicit list.
  it('a TLS 1.2 client offering only static-RSA key exchange (no forward secrecy) is refused', async () => {
    const offer: ConnectionOptions = {
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: 'AES256-SHA:AES128-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384',
    };
    const control = await handshake(permissivePort, ca, offer);
    expect(control.protocol, 'the permissive control takes it').to.equal('TLSv1.2');
    expect(await handshake(port, ca, offer)).to.deep.equal({ error: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' });
  });

  it("TLS 1.2 offers exactly Go's default suites: ECDHE with AES-GCM, ChaCha20-Poly1305, AES-CBC-SHA", async () => {
    const accepted: string[] = [];
    const candidates = [
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES256-GCM-SHA384',
      'ECDHE-RSA-CHACHA20-POLY1305',
      'ECDHE-RSA-AES128-SHA',
      'ECDHE-RSA-AES256-SHA',
      'ECDHE-RSA-AES128-SHA256', // Go: disabled by default (CBC-SHA256)
      'ECDHE-RSA-AES256-SHA384',
      'DHE-RSA-AES128-GCM-SHA256', // Go has no finite-field DHE at all
      'AES128-GCM-SHA256',
    ];
    for (const suite of candidates) {
      const r = await handshake(port, ca, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: suite });
      if (r.cipher) accepted.push(r.cipher);
    }
    expect(accepted).to.deep.equal(candidates.slice(0, 5));
  });

  it('client-initiated renegotiation on TLS 1.2 is bounded: at most 3 succeed, the next one is refused', async () => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' });
    socket.on('error', () => {}); // the server gives up on the connection: expected
    const closed = new Promise<string>((resolve) => socket.on('close', () => resolve('closed')));
    try {
      await new Promise((resolve) => socket.on('secureConnect', resolve));
      const outcomes: string[] = [];
      while (outcomes.length < 6 && outcomes.at(-1) !== 'stalled' && outcomes.at(-1) !== 'closed') {
        const renegotiated = new Promise<string>((resolve) => {
          if (!socket.renegotiate({}, (err) => resolve(err ? 'error' : 'ok'))) resolve('closed');
        });
        const stalled = new Promise<string>((resolve) => setTimeout(() => resolve('stalled'), 3_000).unref());
        outcomes.push(await Promise.race([renegotiated, closed, stalled]));
        if (outcomes.at(-1) === 'error') break;
      }
      expect(outcomes.filter((o) => o === 'ok').length, outcomes.join(',')).to.be.within(1, 3);
      expect(outcomes.at(-1), outcomes.join(',')).to.not.equal('ok');
    } finally {
      socket.destroy();
    }
  });
});

describe("security: upstream's --tls-min-version and --tls-cipher-suites", function () {
  this.timeout(20_000);
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
  });
  const serve = async (server: Record<string, unknown>) => {
    const ts = await startTestServer({ secure: true, server });
    servers.push(ts);
    return { port: Number(new URL(ts.secureUrl!).port), ca: ts.pki!.ca.certPem };
  };
  const tls12 = (ciphers?: string): ConnectionOptions => ({
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    ...(ciphers ? { ciphers } : {}),
  });

  it('--tls-min-version VersionTLS13: a TLS 1.2 handshake is refused with a protocol_version alert', async () => {
    const { port, ca } = await serve({ tlsMinVersion: 'VersionTLS13' });
    expect(await handshake(port, ca, tls12())).to.deep.equal({ error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    expect((await handshake(port, ca, {})).protocol).to.equal('TLSv1.3');
  });

  it('--tls-cipher-suites with one IANA name: only that suite is served on TLS 1.2, TLS 1.3 is untouched', async () => {
    const { port, ca } = await serve({ tlsCipherSuites: ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'] });
    expect(await handshake(port, ca, tls12('ECDHE-RSA-AES128-GCM-SHA256'))).to.deep.equal({
      error: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    });
    expect((await handshake(port, ca, tls12())).cipher).to.equal('ECDHE-RSA-AES256-GCM-SHA384');
    expect((await handshake(port, ca, {})).protocol).to.equal('TLSv1.3');
  });

  it('--tls-min-version VersionTLS10 lets TLS 1.0 in again, as upstream does, still with ECDHE only', async () => {
    const { port, ca } = await serve({ tlsMinVersion: 'VersionTLS10' });
    const tls10 = { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: WEAK } as const;
    expect(await handshake(port, ca, tls10)).to.deep.equal({ protocol: 'TLSv1', cipher: 'ECDHE-RSA-AES128-SHA' });
    expect(await handshake(port, ca, { ...tls10, ciphers: 'AES128-SHA@SECLEVEL=0' })).to.have.property('error');
  });

  it("an unknown version or suite stops start-up with upstream's words", async () => {
    const load = (server: Record<string, unknown>) =>
      loadConfigFromObject({ server: { securePort: 0, ...server }, plugins: { 'storage-memory': {} } }, '(test)');
    const refusal = async (server: Record<string, unknown>) => {
      try {
        await load(server);
      } catch (err) {
        return [(err as SkiffError).code, (err as SkiffError).message];
      }
      return undefined;
    };
    expect(await refusal({ tlsMinVersion: 'VersionTLS9' })).to.deep.equal([
      'SKIFF_TLS_VERSION_UNKNOWN',
      'unknown tls version "VersionTLS9"',
    ]);
    expect(await refusal({ tlsCipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'AES128-SHA'] })).to.deep.equal([
      'SKIFF_TLS_CIPHER_UNKNOWN',
      "Cipher suite AES128-SHA not supported or doesn't exist",
    ]);
    expect((await refusal({ tlsCipherSuites: ['TLS_RSA_WITH_RC4_128_SHA'] }))?.[0]).to.equal(
      'SKIFF_TLS_CIPHER_UNAVAILABLE',
    );
  });
});
