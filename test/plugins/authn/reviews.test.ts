/** SelfSubjectReview (kubectl auth whoami) and TokenReview, answered by the authentication chain. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../../helpers/skip.js';
import { tempDir } from '../../helpers/temp-dirs.js';

const dir = tempDir('skiff-reviews-');
const tokens = join(dir, 'tokens.csv');
writeFileSync(tokens, 'abc123,alice,1001,"admins,devs"\n');

describe('plugins: api-authentication-v1', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ plugins: { 'authn-token-file': { config: { tokenAuthFile: tokens } } } });
  });
  after(async () => ts?.close());

  it('SelfSubjectReview answers with the requester (the insecure port is system:unsecured)', async () => {
    const r = await api(ts.url, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    expect(r.status).to.equal(201);
    expect(r.body.status.userInfo).to.deep.equal({
      username: 'system:unsecured',
      groups: ['system:masters', 'system:authenticated'],
    });
  });

  it('kubectl auth whoami prints the user and groups (its body is protobuf)', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const r = await kubectl(ts.url, ['auth', 'whoami']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout)
      .to.match(/Username\s+system:unsecured/)
      .and.match(/Groups\s+\[system:masters system:authenticated\]/);
  });

  it('TokenReview authenticates a known token and refuses an unknown one', async () => {
    const review = (token: string) =>
      api(ts.url, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token },
      });
    const good = await review('abc123');
    expect(good.status).to.equal(201);
    expect(good.body.status).to.deep.include({ authenticated: true });
    expect(good.body.status.user).to.deep.equal({
      username: 'alice',
      uid: '1001',
      groups: ['admins', 'devs', 'system:authenticated'],
    });
    const bad = await review('nope');
    expect(bad.body.status.authenticated).to.equal(false);
    const empty = await review('');
    expect(empty.status).to.equal(422);
    expect(empty.body.message).to.contain('spec.token: Required value');
  });
});
