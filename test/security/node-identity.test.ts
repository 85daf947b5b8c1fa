/**
 * Attack catalogue: node identity.
 *
 * The attack: take one node's credentials (a kubelet's client certificate, CN
 * `system:node:<name>`, O `system:nodes`: every node has one, and nodes are where workloads run)
 * and use them beyond that node: read the Secrets of pods elsewhere, rewrite another Node (or your
 * own labels and taints, to draw privileged workloads to you), create pods of your choosing, stop
 * or rewrite pods on other nodes, forge another node's heartbeat, or mint tokens for service
 * accounts you do not run.
 *
 * Why it fails: as upstream's `--authorization-mode=Node,RBAC` with NodeRestriction admission.
 * The Node authorizer (plugins/authz-node) lets a node read a Secret, ConfigMap, claim or volume
 * and create a token only when a pod bound to that node uses it, and write Leases only under its
 * own name in kube-node-lease; NodeRestriction (plugins/admission-node-restriction) limits the
 * writes the node rules allow to the node's own Node (no taint changes, only kubelet labels), the
 * pods bound to it, and mirror pods of its static pods. A certificate that says system:node:<name>
 * without the system:nodes group is no node at all.
 *
 * Over HTTPS with real client certificates from the server's CA.
 */
import { expect } from 'chai';
import { issueCertificate, type KeyPair } from '../../plugins/pki-local/certificates.js';
import { httpsRequest } from '../helpers/security.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const pod = (name: string, node: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', ...((extra.metadata as object) ?? {}) },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'node' }], ...((extra.spec as object) ?? {}) },
});

describe('attack catalogue: one node cannot act for another, or beyond its own pods', function () {
  this.timeout(60_000);
  let ts: TestServer;
  let n1: KeyPair;
  let n2: KeyPair;
  let n1Uid: string;
  const as = (client: KeyPair, path: string, method = 'GET', body?: unknown, contentType?: string) =>
    httpsRequest(ts, path, { client, method, body, contentType });

  before(async () => {
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-x509': {},
        'authn-service-account': {},
        'authz-node': {},
        'authz-bootstrap-roles': {},
        'admission-node-restriction': {},
      },
    });
    const cert = (user: string, groups: string[]) =>
      issueCertificate(ts.pki!.ca, { commonName: user, organizations: groups, usage: 'client' });
    n1 = cert('system:node:n1', ['system:nodes']);
    n2 = cert('system:node:n2', ['system:nodes']);
    const admin = ts.server.client();
    const core = (resource: string) => ({ group: '', version: 'v1', resource });
    for (const name of ['n1', 'n2']) {
      const created = await admin.create(core('nodes'), '', {
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      });
      if (name === 'n1') n1Uid = created.metadata.uid!;
    }
    await admin.create(core('secrets'), 'default', { metadata: { name: 'db-pass' }, stringData: { p: 'x' } } as never);
    await admin.create(core('secrets'), 'default', { metadata: { name: 'unused' }, stringData: { p: 'y' } } as never);
    await admin.create(core('configmaps'), 'default', { metadata: { name: 'n2-config' }, data: { a: '1' } });
    await admin.create(core('serviceaccounts'), 'default', { metadata: { name: 'builder' } });
    await admin.create(
      core('pods'),
      'default',
      pod('db', 'n1', {
        spec: {
          volumes: [{ name: 's', secret: { secretName: 'db-pass' } }],
          containers: [{ name: 'c', image: 'node', volumeMounts: [{ name: 's', mountPath: '/s' }] }],
        },
      }) as never,
    );
    await admin.create(
      core('pods'),
      'default',
      pod('web', 'n2', {
        spec: { containers: [{ name: 'c', image: 'node', envFrom: [{ configMapRef: { name: 'n2-config' } }] }] },
      }) as never,
    );
  });

  after(async () => ts?.close());

  it("reading a Secret no pod on the node uses is refused, with upstream's reason; the one its pod uses is allowed", async () => {
    const unused = await as(n1, '/api/v1/namespaces/default/secrets/unused');
    expect(unused.status, unused.text).to.equal(403);
    expect(unused.body.message).to.contain("no relationship found between node 'n1' and this object");
    const used = await as(n1, '/api/v1/namespaces/default/secrets/db-pass');
    expect(used.status, used.text).to.equal(200);
  });

  it("reading the Secret of a pod on another node is refused (n2 cannot read n1's db-pass)", async () => {
    const stolen = await as(n2, '/api/v1/namespaces/default/secrets/db-pass');
    expect(stolen.status, stolen.text).to.equal(403);
  });

  it('listing every Secret or ConfigMap is refused: only single objects a pod uses', async () => {
    expect((await as(n1, '/api/v1/secrets')).status).to.equal(403);
    expect((await as(n1, '/api/v1/namespaces/default/configmaps')).status).to.equal(403);
    expect((await as(n1, '/api/v1/namespaces/default/configmaps/n2-config')).status, 'n2 pod uses it, not n1').to.equal(
      403,
    );
    expect((await as(n2, '/api/v1/namespaces/default/configmaps/n2-config')).status).to.equal(200);
  });

  it('minting a token for a service account none of its pods runs as is refused', async () => {
    const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['api'] } };
    const minted = await as(n1, '/api/v1/namespaces/default/serviceaccounts/builder/token', 'POST', body);
    expect(minted.status, minted.text).to.equal(403);
  });

  // The Node authorizer lets n1 mint tokens for "shared" because a pod on n1 runs as it. Bound to
  // n2's pod of the same account, or to nothing, such a token would outlive n1's own pod and act
  // for the account elsewhere. NodeRestriction (upstream's admitServiceAccount) sees the
  // TokenRequest and demands a binding to a pod, by uid, scheduled on the asking node.
  it("minting a token bound to another node's pod, or to no pod, is refused (NodeRestriction)", async () => {
    const admin = ts.server.client();
    const core = (resource: string) => ({ group: '', version: 'v1', resource });
    await admin.create(core('serviceaccounts'), 'default', { metadata: { name: 'shared' } });
    const onN1 = pod('runner', 'n1', { spec: { serviceAccountName: 'shared' } });
    const onN2 = pod('victim', 'n2', { spec: { serviceAccountName: 'shared' } });
    await admin.create(core('pods'), 'default', onN1 as never);
    const victim = await admin.create(core('pods'), 'default', onN2 as never);
    const path = '/api/v1/namespaces/default/serviceaccounts/shared/token';
    const request = (boundObjectRef?: object) => ({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: ['api'], ...(boundObjectRef ? { boundObjectRef } : {}) },
    });
    const ref = { apiVersion: 'v1', kind: 'Pod', name: 'victim', uid: victim.metadata.uid };
    const elsewhere = await as(n1, path, 'POST', request(ref));
    expect(elsewhere.status, elsewhere.text).to.equal(403);
    expect(elsewhere.body.message).to.contain('node requested token bound to a pod scheduled on a different node');
    const unbound = await as(n1, path, 'POST', request());
    expect(unbound.status, unbound.text).to.equal(403);
    expect(unbound.body.message).to.contain('node requested token not bound to a pod');
    const noUid = await as(n1, path, 'POST', request({ apiVersion: 'v1', kind: 'Pod', name: 'runner' }));
    expect(noUid.status, noUid.text).to.equal(403);
    expect(noUid.body.message).to.contain('node requested token with a pod binding without a uid');
    const runner = await admin.get(core('pods'), 'default', 'runner');
    const own = await as(
      n1,
      path,
      'POST',
      request({ apiVersion: 'v1', kind: 'Pod', name: 'runner', uid: runner.metadata.uid }),
    );
    expect(own.status, own.text).to.equal(201);
    expect(own.body.status.token).to.be.a('string').and.not.empty;
  });

  it('changing another Node is refused; its own status is allowed', async () => {
    const patch = { metadata: { labels: { owned: 'yes' } } };
    const other = await as(n1, '/api/v1/nodes/n2', 'PATCH', patch, 'application/merge-patch+json');
    expect(other.status, other.text).to.equal(403);
    expect(other.body.message).to.contain('node "n1" is not allowed to modify node "n2"');
    const own = await as(
      n1,
      '/api/v1/nodes/n1/status',
      'PATCH',
      { status: { phase: 'Running' } },
      'application/merge-patch+json',
    );
    expect(own.status, own.text).to.equal(200);
  });

  it('giving itself a restricted label or dropping its taints (to attract workloads) is refused', async () => {
    const label = { metadata: { labels: { 'node-restriction.kubernetes.io/pci': 'true' } } };
    const labelled = await as(n1, '/api/v1/nodes/n1', 'PATCH', label, 'application/merge-patch+json');
    expect(labelled.status, labelled.text).to.equal(403);
    expect(labelled.body.message).to.contain('is not allowed to modify labels: node-restriction.kubernetes.io/pci');
    const role = { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } };
    expect((await as(n1, '/api/v1/nodes/n1', 'PATCH', role, 'application/merge-patch+json')).status).to.equal(403);
    const taints = { spec: { taints: [{ key: 'x', effect: 'NoSchedule' }] } };
    const tainted = await as(n1, '/api/v1/nodes/n1', 'PATCH', taints, 'application/merge-patch+json');
    expect(tainted.status, tainted.text).to.equal(403);
    expect(tainted.body.message).to.contain('node "n1" is not allowed to modify taints');
  });

  it('creating a pod that is not a mirror pod is refused', async () => {
    const created = await as(n1, '/api/v1/namespaces/default/pods', 'POST', pod('miner', 'n1'));
    expect(created.status, created.text).to.equal(403);
    expect(created.body.message).to.contain('node "n1" can only create mirror pods');
  });

  it('a mirror pod bound elsewhere, or one that names a Secret, is refused; its own plain mirror pod is allowed', async () => {
    const owner = { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: n1Uid, controller: true };
    const mirror = (name: string, node: string, spec: Record<string, unknown> = {}) =>
      pod(name, node, {
        metadata: { annotations: { 'kubernetes.io/config.mirror': 'h' }, ownerReferences: [owner] },
        spec,
      });
    const elsewhere = await as(n1, '/api/v1/namespaces/default/pods', 'POST', mirror('m1', 'n2'));
    expect(elsewhere.body.message).to.contain('node "n1" can only create pods with spec.nodeName set to itself');
    const secretful = mirror('m2', 'n1', { volumes: [{ name: 's', secret: { secretName: 'db-pass' } }] });
    const withSecret = await as(n1, '/api/v1/namespaces/default/pods', 'POST', secretful);
    expect(withSecret.status).to.equal(403);
    expect(withSecret.body.message).to.contain('node "n1" can not create pods that reference secrets');
    const ok = await as(n1, '/api/v1/namespaces/default/pods', 'POST', mirror('m3', 'n1'));
    expect(ok.status, ok.text).to.equal(201);
  });

  it('rewriting the status of, or deleting, a pod on another node is refused', async () => {
    const status = { status: { phase: 'Failed' } };
    const rewritten = await as(
      n1,
      '/api/v1/namespaces/default/pods/web/status',
      'PATCH',
      status,
      'application/merge-patch+json',
    );
    expect(rewritten.status, rewritten.text).to.equal(403);
    expect(rewritten.body.message).to.contain(
      'node "n1" can only update pod status for pods with spec.nodeName set to itself',
    );
    const deleted = await as(n1, '/api/v1/namespaces/default/pods/web', 'DELETE');
    expect(deleted.status, deleted.text).to.equal(403);
    expect(deleted.body.message).to.contain('node "n1" can only delete pods with spec.nodeName set to itself');
  });

  it("forging another node's heartbeat (its Lease) is refused; its own Lease is allowed", async () => {
    const lease = (name: string) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40 },
    });
    await ts.server
      .client()
      .create({ group: '', version: 'v1', resource: 'namespaces' }, '', { metadata: { name: 'kube-node-lease' } })
      .catch(() => undefined);
    const path = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
    const forged = await as(n1, path, 'POST', lease('n2'));
    expect(forged.status, forged.text).to.equal(403);
    expect(forged.body.message).to.contain('can only access node lease with the same name as the requesting node');
    expect((await as(n1, path, 'POST', lease('n1'))).status).to.equal(201);
    expect((await as(n1, `${path}/n2`)).status, 'reading it is refused too').to.equal(403);
  });

  it('a certificate naming system:node:n1 without the system:nodes group is no node: refused', async () => {
    const impostor = issueCertificate(ts.pki!.ca, { commonName: 'system:node:n1', organizations: [], usage: 'client' });
    expect((await as(impostor, '/api/v1/namespaces/default/secrets/db-pass')).status).to.equal(403);
    expect((await as(impostor, '/api/v1/nodes/n1')).status).to.equal(403);
  });
});
