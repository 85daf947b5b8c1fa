/**
 * Chapter: request smuggling.
 *
 * The attack: make two HTTP parsers disagree about where one request ends and the next begins,
 * so that bytes one side treats as a body are run by the other as a request of their own: both
 * Content-Length and Transfer-Encoding (CL.TE, TE.CL), two Content-Lengths, obfuscated
 * Transfer-Encoding values (`chunked, identity`, `xchunked`, a space before the colon, a folded
 * line), malformed chunk sizes, bare LF line endings. Behind a front proxy this lets an attacker
 * prefix another user's request; on a direct connection the hope is that the hidden request runs
 * with the credentials of the request that carried it.
 *
 * The upstream defence: Go's net/http server refuses ambiguous framing (400) and authenticates
 * every request from its own headers. Skiff runs on Node's llhttp parser in strict mode, which
 * refuses every ambiguous framing below with 400 before any handler runs.
 *
 * Where Skiff implements it: Node's HTTP parser (no insecureHTTPParser anywhere), core/server/server.ts
 * (onClientError turns a parse error into a 400 Status and closes the connection), and
 * core/server/http-app.ts (authentication runs per request, from that request's headers only; a
 * bearer token never sticks to the connection). A client certificate does belong to the TLS
 * connection, by design, as upstream: every request on it is that client's.
 *
 * Each case sends, on one fresh TLS connection, a request authenticated as an admin (a token in
 * system:masters) that creates a ConfigMap, with a second request without credentials hidden after
 * or inside its body that would create the Secret "smuggled". That Secret must never exist.
 */
import { expect } from 'chai';
import { type RawResponse, rawTlsExchange, type Scratch, scratchDir, tokenLine } from '../helpers/security.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const TOKEN = 'root-token';
const CONFIGMAP = JSON.stringify({ metadata: { name: 'carrier' } });
const SECRET = JSON.stringify({ metadata: { name: 'smuggled' }, stringData: { k: 'v' } });
const SMUGGLED = `POST /api/v1/namespaces/default/secrets HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${SECRET.length}\r\nConnection: close\r\n\r\n${SECRET}`;

/** The carrier's request line and headers (authenticated), ending with `extra` header lines. */
const carrier = (extra: string) =>
  `POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n${extra}\r\n`;
const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
const CHUNKED_THEN_SMUGGLED = `${chunk(CONFIGMAP)}0\r\n\r\n${SMUGGLED}`;

/** [the attack, the bytes, the parser error named in the 400] */
const AMBIGUOUS: [string, string, string][] = [
  [
    'Content-Length and Transfer-Encoding: chunked (CL.TE)',
    carrier(`Content-Length: ${CONFIGMAP.length}\r\nTransfer-Encoding: chunked\r\n`) + CHUNKED_THEN_SMUGGLED,
    'HPE_INVALID_TRANSFER_ENCODING',
  ],
  [
    'Transfer-Encoding: chunked then Content-Length (TE.CL)',
    carrier('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n') + CHUNKED_THEN_SMUGGLED,
    'HPE_INVALID_CONTENT_LENGTH',
  ],
  [
    'two different Content-Length headers',
    carrier(`Content-Length: ${CONFIGMAP.length}\r\nContent-Length: ${CONFIGMAP.length + SMUGGLED.length}\r\n`) +
      CONFIGMAP +
      SMUGGLED,
    'HPE_UNEXPECTED_CONTENT_LENGTH',
  ],
  [
    'two equal Content-Length headers',
    carrier(`Content-Length: ${CONFIGMAP.length}\r\nContent-Length: ${CONFIGMAP.length}\r\n`) + CONFIGMAP + SMUGGLED,
    'HPE_UNEXPECTED_CONTENT_LENGTH',
  ],
  [
    'a Content-Length list ("N, N")',
    carrier(`Content-Length: ${CONFIGMAP.length}, ${CONFIGMAP.length}\r\n`) + CONFIGMAP + SMUGGLED,
    'HPE_INVALID_CONTENT_LENGTH',
  ],
  [
    'a signed Content-Length (+N)',
    carrier(`Content-Length: +${CONFIGMAP.length}\r\n`) + CONFIGMAP + SMUGGLED,
    'HPE_INVALID_CONTENT_LENGTH',
  ],
  [
    'a hexadecimal Content-Length',
    carrier('Content-Length: 0x10\r\n') + CONFIGMAP + SMUGGLED,
    'HPE_INVALID_CONTENT_LENGTH',
  ],
  ['a negative Content-Length', carrier('Content-Length: -1\r\n') + CONFIGMAP + SMUGGLED, 'HPE_INVALID_CONTENT_LENGTH'],
  [
    'Transfer-Encoding: chunked, identity (chunked not last)',
    carrier('Transfer-Encoding: chunked, identity\r\n') + CHUNKED_THEN_SMUGGLED,
    'HPE_INVALID_TRANSFER_ENCODING',
  ],
  [
    'Transfer-Encoding: identity, chunked with a Content-Length',
    carrier(`Transfer-Encoding: identity, chunked\r\nContent-Length: ${CONFIGMAP.length}\r\n`) + CONFIGMAP + SMUGGLED,
    'HPE_INVALID_CONTENT_LENGTH',
  ],
  [
    'Transfer-Encoding: xchunked',
    carrier('Transfer-Encoding: xchunked\r\n') + CHUNKED_THEN_SMUGGLED,
    'HPE_INVALID_TRANSFER_ENCODING',
  ],
  [
    'two Transfer-Encoding headers (chunked, then identity)',
    carrier('Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n') + CHUNKED_THEN_SMUGGLED,
    'HPE_INVALID_TRANSFER_ENCODING',
  ],
  [
    'a space before the colon ("Transfer-Encoding : chunked")',
    carrier('Transfer-Encoding : chunked\r\n') + CHUNKED_THEN_SMUGGLED,
    'HPE_INVALID_HEADER_TOKEN',
  ],
  [
    'a folded header line (obs-fold)',
    carrier('Transfer-Encoding:\r\n chunked\r\n') + CHUNKED_THEN_SMUGGLED,
    'HPE_INVALID_HEADER_TOKEN',
  ],
  [
    'a lone CR inside a header line',
    carrier(`X-Note: a\rTransfer-Encoding: chunked\r\nContent-Length: ${CONFIGMAP.length}\r\n`) + CONFIGMAP + SMUGGLED,
    'HPE_LF_EXPECTED',
  ],
  [
    'bare LF line endings in the headers',
    `POST /api/v1/namespaces/default/configmaps HTTP/1.1\nHost: localhost\nAuthorization: Bearer ${TOKEN}\nContent-Type: application/json\nContent-Length: ${CONFIGMAP.length}\n\n${CONFIGMAP}${SMUGGLED}`,
    'HPE_INVALID_VERSION',
  ],
  [
    'a chunk size that is not hexadecimal',
    carrier('Transfer-Encoding: chunked\r\n') + `zz\r\n${CONFIGMAP}\r\n0\r\n\r\n${SMUGGLED}`,
    'HPE_INVALID_CHUNK_SIZE',
  ],
  [
    'a chunk size that overflows 64 bits',
    carrier('Transfer-Encoding: chunked\r\n') + `fffffffffffffffff\r\n${CONFIGMAP}\r\n0\r\n\r\n${SMUGGLED}`,
    'HPE_INVALID_CHUNK_SIZE',
  ],
  [
    'a negative chunk size',
    carrier('Transfer-Encoding: chunked\r\n') + `-1\r\n${CONFIGMAP}\r\n0\r\n\r\n${SMUGGLED}`,
    'HPE_INVALID_CHUNK_SIZE',
  ],
  [
    'a chunk size with trailing whitespace',
    carrier('Transfer-Encoding: chunked\r\n') +
      `${CONFIGMAP.length.toString(16)} \r\n${CONFIGMAP}\r\n0\r\n\r\n${SMUGGLED}`,
    'HPE_INVALID_CHUNK_SIZE',
  ],
  [
    'bare LF after a chunk size',
    carrier('Transfer-Encoding: chunked\r\n') + `${CONFIGMAP.length.toString(16)}\n${CONFIGMAP}\n0\n\n${SMUGGLED}`,
    'HPE_CR_EXPECTED',
  ],
];

/** [the framing, the bytes, the statuses: the carrier's, then the hidden request's] */
const PIPELINED: [string, string, number[]][] = [
  [
    'a correct Content-Length, the next request right after the body',
    carrier(`Content-Length: ${CONFIGMAP.length}\r\n`) + CONFIGMAP + SMUGGLED,
    [201, 401],
  ],
  [
    'Content-Length: 0 with the request where the body would be',
    carrier('Content-Length: 0\r\n') + SMUGGLED,
    [400, 401],
  ],
  [
    'Transfer-Encoding: Chunked (capitalised, valid)',
    carrier('Transfer-Encoding: Chunked\r\n') + CHUNKED_THEN_SMUGGLED,
    [201, 401],
  ],
  [
    'Transfer-Encoding:<TAB>chunked (valid whitespace)',
    carrier('Transfer-Encoding:\tchunked\r\n') + CHUNKED_THEN_SMUGGLED,
    [201, 401],
  ],
  [
    'HTTP/1.0 with Connection: keep-alive',
    carrier(`Content-Length: ${CONFIGMAP.length}\r\nConnection: keep-alive\r\n`).replace('HTTP/1.1', 'HTTP/1.0') +
      CONFIGMAP +
      SMUGGLED,
    [201, 401],
  ],
  [
    'Expect: 100-continue',
    carrier(`Expect: 100-continue\r\nContent-Length: ${CONFIGMAP.length}\r\n`) + CONFIGMAP + SMUGGLED,
    [100, 201, 401],
  ],
];

describe('security: request smuggling finds no second parser and no borrowed credentials', function () {
  this.timeout(30_000);
  let ts: TestServer;
  let files: Scratch;

  before(async () => {
    files = scratchDir('smuggling');
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-token-file': {
          config: { tokenAuthFile: files.file('tokens.csv', tokenLine(TOKEN, 'root', '1', ['system:masters'])) },
        },
      },
    });
  });
  after(async () => {
    await ts?.close();
    files?.remove();
  });
  afterEach(async () => {
    await api(ts.url, 'DELETE', '/api/v1/namespaces/default/configmaps/carrier');
    await api(ts.url, 'DELETE', '/api/v1/namespaces/default/secrets/smuggled');
  });

  const exists = async (path: string) =>
    (await api(ts.url, 'GET', `/api/v1/namespaces/default/${path}`)).status === 200;
  const summary = (responses: RawResponse[]) => responses.map((r) => `${r.status} ${r.body.slice(0, 120)}`).join(' | ');

  it('baseline: the carrier alone, correctly framed, creates its ConfigMap; the Secret request alone gets 401', async () => {
    const responses = await rawTlsExchange(
      ts,
      carrier(`Content-Length: ${CONFIGMAP.length}\r\nConnection: close\r\n`) + CONFIGMAP,
    );
    expect(responses.map((r) => r.status)).to.deep.equal([201]);
    expect(await exists('configmaps/carrier')).to.equal(true);
    const alone = await rawTlsExchange(ts, SMUGGLED);
    expect(alone.map((r) => r.status)).to.deep.equal([401]);
  });

  for (const [attack, bytes, parserError] of AMBIGUOUS) {
    it(`${attack} → 400 naming ${parserError}; neither request runs`, async () => {
      const responses = await rawTlsExchange(ts, bytes);
      expect(
        responses.map((r) => r.status),
        summary(responses),
      ).to.deep.equal([400]);
      expect(JSON.parse(responses[0]!.body)).to.include({
        kind: 'Status',
        reason: 'BadRequest',
        message: `the request could not be parsed: ${parserError}`,
      });
      expect(await exists('secrets/smuggled'), 'the smuggled Secret').to.equal(false);
      expect(await exists('configmaps/carrier'), 'the carrier ConfigMap').to.equal(false);
    });
  }

  for (const [framing, bytes, statuses] of PIPELINED) {
    it(`${framing}: the hidden request runs on its own, without the carrier’s token → ${statuses.join(', ')}`, async () => {
      const responses = await rawTlsExchange(ts, bytes);
      expect(
        responses.map((r) => r.status),
        summary(responses),
      ).to.deep.equal(statuses);
      if (statuses.includes(401)) expect(JSON.parse(responses.at(-1)!.body)).to.include({ reason: 'Unauthorized' });
      expect(await exists('secrets/smuggled'), 'the smuggled Secret').to.equal(false);
    });
  }

  it('a GET whose body is a whole request: the body is read as a body and never run → 200 only', async () => {
    const responses = await rawTlsExchange(
      ts,
      `GET /version HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    );
    expect(
      responses.map((r) => r.status),
      summary(responses),
    ).to.deep.equal([200]);
    expect(await exists('secrets/smuggled')).to.equal(false);
  });

  it('Upgrade: h2c (HTTP/2 cleartext smuggling through an upgrade) is not honoured: one plain answer, nothing more runs', async () => {
    const responses = await rawTlsExchange(
      ts,
      `GET /version HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n${SMUGGLED}`,
    );
    expect(
      responses.map((r) => r.status),
      summary(responses),
    ).to.deep.equal([200]);
    expect(await exists('secrets/smuggled')).to.equal(false);
  });
});
