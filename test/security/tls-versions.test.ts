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
 * Where Skiff implements it: core/server/secure-serving.ts (minVersion TLSv1.2 and Node's default
 * cipher list: HIGH, no aNULL/eNULL/EXPORT/DES/RC4/MD5); Node's TLS layer limits renegotiations
 * (tls.CLIENT_RENEG_LIMIT, 3 per 10 minutes) and closes the connection after that.
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

  // FAILS TODAY: Node's default list (HIGH) still includes static-RSA suites such as AES256-SHA
  // and AES128-GCM-SHA256; the handshake succeeds with AES256-SHA. Go 1.22+ (kube-apiserver 1.32)
  // no longer offers them. Fix: pass an explicit ECDHE-only `ciphers` list in secure-serving.ts.
  it.skip('a TLS 1.2 client offering only static-RSA key exchange (no forward secrecy) is refused', async () => {
    const r = await handshake(port, ca, {
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: 'AES256-SHA:AES128-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384',
    });
    expect(r).to.deep.equal({ error: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' });
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
