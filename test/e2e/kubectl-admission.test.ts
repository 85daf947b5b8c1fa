/**
 * The admission chain and its controllers through the real kubectl: what a user of a real cluster
 * sees when a namespace is terminating, a pod asks for a user id, a LimitRange fills in
 * resources, a quota runs out, and a namespace with contents is deleted.
 */
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

describe('e2e: kubectl and the admission chain', function () {
  this.timeout(120_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer({
      role: 'up',
      plugins: {
        'admission-namespace-lifecycle': {},
        'admission-limit-ranger': {},
        'admission-service-account': {},
        'admission-security-context-deny': {},
        'admission-resource-quota': {},
        // The controllers act as system:kube-controller-manager, which only the chain authorizes.
        'authz-bootstrap-roles': {},
        'controller-namespace': { config: { retrySeconds: 0.2 } },
        'controller-service-account': {},
        'controller-resource-quota': { config: { settleSeconds: 0.2 } },
      },
    });
  });
  after(async () => ts?.close());

  const run = (args: string[], input?: string) => kubectl(ts.url, args, input);
  async function ok(args: string[], input?: string): Promise<string> {
    const r = await run(args, input);
    expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }
  const podYaml = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
${extra}  containers:
  - name: app
    image: busybox
`;
  const defaultAccount = (ns: string) =>
    waitFor(
      'the default service account',
      () => run(['get', 'serviceaccount', 'default', '-n', ns]),
      (r) => r.code === 0,
    );

  it('a pod with runAsUser is refused with upstream message', async () => {
    const r = await run(['create', '-f', '-'], podYaml('root', '  securityContext:\n    runAsUser: 0\n'));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(
      'Error from server (Forbidden): error when creating "STDIN": pods "root" is forbidden: pod.Spec.SecurityContext.RunAsUser is forbidden',
    );
  });

  it('LimitRange defaults show in kubectl get pod -o yaml', async () => {
    await ok(['create', 'namespace', 'limited']);
    await defaultAccount('limited');
    await ok(
      ['create', '-n', 'limited', '-f', '-'],
      `apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
`,
    );
    await ok(['create', '-n', 'limited', '-f', '-'], podYaml('web'));
    const yaml = await ok(['get', 'pod', 'web', '-n', 'limited', '-o', 'yaml']);
    const annotation = await ok([
      'get',
      'pod',
      'web',
      '-n',
      'limited',
      '-o',
      'jsonpath={.metadata.annotations.kubernetes\\.io/limit-ranger}',
    ]);
    expect(annotation).to.equal(
      'LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app',
    );
    expect(yaml).to.match(/limits:\n\s+cpu: 500m\n\s+memory: 256Mi\n\s+requests:\n\s+cpu: 100m\n\s+memory: 128Mi/);
    expect(yaml).to.contain('serviceAccountName: default');
  });

  it('quota exceeded is Forbidden with requested, used and limited', async () => {
    await ok(['create', 'namespace', 'small']);
    await defaultAccount('small');
    await ok(['create', 'quota', 'one-pod', '--hard=pods=1', '-n', 'small']);
    await waitFor(
      'quota status',
      () => ok(['get', 'quota', 'one-pod', '-n', 'small', '-o', 'jsonpath={.status.used.pods}']),
      (o) => o === '0',
    );
    await ok(['create', '-n', 'small', '-f', '-'], podYaml('first'));
    const r = await run(['create', '-n', 'small', '-f', '-'], podYaml('second'));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(
      'Error from server (Forbidden): error when creating "STDIN": pods "second" is forbidden: exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1',
    );
    const describe = await ok(['describe', 'quota', 'one-pod', '-n', 'small']);
    expect(describe).to.match(/pods\s+1\s+1/);
  });

  it('creating in a Terminating namespace is Forbidden; deleting it ends with everything gone', async () => {
    await ok(['create', 'namespace', 'doomed']);
    await defaultAccount('doomed');
    await ok(['create', 'configmap', 'settings', '--from-literal=a=1', '-n', 'doomed']);
    await ok(['create', 'secret', 'generic', 'creds', '--from-literal=p=x', '-n', 'doomed']);
    await ok(['create', '-n', 'doomed', '-f', '-'], podYaml('worker'));
    // A finalizer of its own keeps one object, and so the namespace, around long enough to look.
    await ok(
      ['create', '-n', 'doomed', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\n',
    );
    await ok(['delete', 'namespace', 'doomed', '--wait=false']);
    expect(await ok(['get', 'namespace', 'doomed', '-o', 'jsonpath={.status.phase}'])).to.equal('Terminating');

    const refused = await run(['create', 'configmap', 'late', '--from-literal=b=2', '-n', 'doomed']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain(
      'error: failed to create configmap: configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated',
    );
    await ok(['patch', 'configmap', 'held', '-n', 'doomed', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await ok(['wait', '--for=delete', 'namespace/doomed', '--timeout=30s']);
    const left = await run(['get', 'all,configmaps,secrets,serviceaccounts', '-n', 'doomed', '-o', 'name']);
    expect(left.stdout.trim()).to.equal('');
  });

  it('the default namespaces cannot be deleted', async () => {
    const r = await run(['delete', 'namespace', 'kube-system']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(
      'Error from server (Forbidden): namespaces "kube-system" is forbidden: this namespace may not be deleted',
    );
  });
});
