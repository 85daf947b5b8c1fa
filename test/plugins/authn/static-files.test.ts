/** authn-token-file, authn-basic-file and authn-anonymous, through the real authentication chain. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { runAuthentication } from '../../../core/chains.js';
import { SkiffError } from '../../../core/errors.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../../helpers/temp-dirs.js';

const dir = tempDir('skiff-authn-');
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const tokens = file('tokens.csv', 'abc123,alice,1001,"admins,devs"\nkubelet-token,kubelet,1002\n,nobody,1003\n');
const passwords = file('passwords.csv', 'secret,bob,2001,readers\n');
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('plugins: static credential authenticators', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      plugins: {
        'authn-token-file': { config: { tokenAuthFile: tokens } },
        'authn-basic-file': { config: { basicAuthFile: passwords } },
        'authn-anonymous': {},
      },
    });
  });
  after(async () => ts?.close());

  const authenticate = (authorization?: string) =>
    runAuthentication(ts.server.hooks, {
      headers: authorization ? { authorization } : {},
      transport: 'secure',
    });

  it('maps a bearer token to its user, uid and groups, plus system:authenticated', async () => {
    const out = await authenticate('Bearer abc123');
    expect(out.result?.authenticator).to.equal('authn-token-file');
    expect(out.result?.user).to.deep.equal({
      name: 'alice',
      uid: '1001',
      groups: ['admins', 'devs', 'system:authenticated'],
    });
    expect((await authenticate('bearer kubelet-token')).result?.user.name).to.equal('kubelet');
  });

  it('maps basic credentials to the file user, and refuses a wrong password', async () => {
    const ok = await authenticate(basic('bob', 'secret'));
    expect(ok.result?.user).to.include({ name: 'bob', uid: '2001' });
    expect(ok.result?.user.groups).to.deep.equal(['readers', 'system:authenticated']);
    const bad = await authenticate(basic('bob', 'wrong'));
    expect(bad.result).to.equal(undefined);
    expect(bad.refusals).to.deep.include({
      authenticator: 'authn-basic-file',
      reason: 'invalid username/password combination',
    });
    expect((await authenticate(basic('mallory', 'secret'))).result).to.equal(undefined);
  });

  it('refuses an unknown token with a reason for the log, and never falls back to anonymous', async () => {
    const out = await authenticate('Bearer nope');
    expect(out.result).to.equal(undefined);
    expect(out.refusals).to.deep.include({ authenticator: 'authn-token-file', reason: 'invalid bearer token' });
  });

  it('makes a request without credentials system:anonymous in system:unauthenticated', async () => {
    const out = await authenticate();
    expect(out.result?.user).to.deep.equal({ name: 'system:anonymous', groups: ['system:unauthenticated'] });
  });

  it('stops start-up on a record with fewer than 3 columns, naming the file and the fix', async () => {
    const broken = file('broken.csv', 'abc,alice\n');
    try {
      await startTestServer({ plugins: { 'authn-token-file': { config: { tokenAuthFile: broken } } } });
      expect.fail('start-up should have failed');
    } catch (err) {
      expect(err, String(err)).to.be.instanceOf(SkiffError);
      expect((err as Error).message).to.contain('must have at least 3 columns (token, user name, user uid), found 2');
    }
  });
});
