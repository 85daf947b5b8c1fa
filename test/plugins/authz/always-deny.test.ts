/**
 * authz-always-deny as upstream's alwaysDenyAuthorizer: it answers "no opinion" with the reason
 * "Everything is forbidden." rather than deciding, so an authorizer after it may still allow; a
 * chain that ends with no opinion refuses, and the refusal (403, SubjectAccessReview) carries the
 * reason.
 */
import { expect } from 'chai';
import { httpsRequest, type Scratch, scratchDir, tokenLine } from '../../helpers/security.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const PODS = '/api/v1/namespaces/default/pods';

describe('plugins: authz-always-deny abstains with a reason, as upstream', function () {
  this.timeout(30_000);
  let scratch: Scratch;
  let ts: TestServer;

  before(async () => {
    scratch = scratchDir('always-deny');
    const tokens = tokenLine('bob-token', 'bob', '1') + tokenLine('eve-token', 'eve', '2');
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-x509': {},
        'authn-token-file': { config: { tokenAuthFile: scratch.file('tokens.csv', tokens) } },
        // --authorization-mode=AlwaysDeny,ABAC: the order of the chain is the order here.
        'authz-always-deny': {},
        'authz-abac': {
          config: {
            policyFile: scratch.file('policy.jsonl', '{"user": "bob", "resource": "pods", "readonly": true}\n'),
          },
        },
      },
    });
  });
  after(async () => {
    await ts?.close();
    scratch?.remove();
  });

  it('an authorizer after AlwaysDeny still allows (AlwaysDeny,ABAC: bob may list pods)', async () => {
    const r = await httpsRequest(ts, PODS, { token: 'bob-token' });
    expect(r.status, r.text).to.equal(200);
    expect(r.body.kind).to.equal('PodList');
  });

  it('when nobody allows, the 403 ends with the reason AlwaysDeny gave', async () => {
    const r = await httpsRequest(ts, PODS, { token: 'eve-token' });
    expect(r.status, r.text).to.equal(403);
    expect(r.body.message).to.equal(
      'pods is forbidden: User "eve" cannot list resource "pods" in API group "" in the namespace "default": Everything is forbidden.',
    );
  });

  it('a SubjectAccessReview says not allowed, not denied, with the reason', async () => {
    const review = (user: string, verb: string) => ({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user, resourceAttributes: { namespace: 'default', verb, resource: 'pods' } },
    });
    const admin = { client: ts.pki!.admin };
    const path = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
    const refused = await httpsRequest(ts, path, { ...admin, method: 'POST', body: review('eve', 'list') });
    expect(refused.status, refused.text).to.equal(201);
    expect(refused.body.status).to.deep.equal({ allowed: false, reason: 'Everything is forbidden.' });
    const allowed = await httpsRequest(ts, path, { ...admin, method: 'POST', body: review('bob', 'list') });
    expect(allowed.body.status.allowed, allowed.text).to.equal(true);
  });
});
