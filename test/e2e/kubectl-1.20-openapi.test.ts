/**
 * kubectl 1.20 reads /openapi/v2 (gnostic protobuf) for explain, client-side validation and apply's
 * strategic merge patch: the errors must be the ones a real 1.20 client prints against a real cluster.
 */
import { expect } from 'chai';
import { kubectl, kubectl120Path } from '../helpers/kubectl.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const pod = (containers: string) =>
  `apiVersion: v1
kind: Pod
metadata:
  name: checked
spec:
  containers:
${containers}`;

const rc = (image: string, label: string, extra = '') =>
  `apiVersion: v1
kind: ReplicationController
metadata:
  name: applied
  labels:
    ${label}
spec:
  replicas: 1
  selector:
    app: applied
  template:
    metadata:
      labels:
        app: applied
    spec:
      containers:
      - name: main
        image: ${image}
        ports:
        - containerPort: 8080
${extra}`;

describe('e2e: kubectl 1.20 and /openapi/v2', function () {
  this.timeout(120_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectl120Path) {
      console.warn(
        '    SKIPPED: kubectl 1.20 is not unpacked in .cache/kubectl-1.20 (bash .ci/run does it: apt-get download kubernetes-client; dpkg -x)',
      );
      this.skip();
    }
    ts = await startTestServer({ storage: 'sqlite' });
  });
  after(async () => ts?.close());

  const run = (args: string[], input?: string) => kubectl(ts.url, args, input, kubectl120Path);
  async function ok(args: string[], input?: string): Promise<string> {
    const r = await run(args, input);
    expect(r.code, `kubectl 1.20 ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }

  it('explain walks the v2 definitions', async () => {
    const containers = await ok(['explain', 'pods.spec.containers']);
    expect(containers).to.contain('RESOURCE: containers <[]Object>').and.contain('FIELDS:');
    expect(containers)
      .to.match(/^\s+image\s+<string>/m)
      .and.match(/^\s+ports\s+<\[\]Object>/m);
    expect(await ok(['explain', 'rc.spec']))
      .to.match(/^\s+selector\s+<map\[string\]string>/m)
      .and.match(/^\s+template\s+<Object>/m);
    const lease = await ok(['explain', 'leases.spec']);
    expect(lease)
      .to.contain('VERSION:  coordination.k8s.io/v1')
      .and.match(/^\s+holderIdentity\s+<string>/m);
  });

  it('create -f validates on the client: unknown fields, wrong types and missing required fields', async () => {
    const typo = pod('  - name: web\n    image: nginx\n    imagee: nginx:2\n');
    const unknown = await run(['create', '-f', '-'], typo);
    expect(unknown.code).to.not.equal(0);
    expect(unknown.stderr).to.contain(
      'error validating data: ValidationError(Pod.spec.containers[0]): unknown field "imagee" in io.k8s.api.core.v1.Container',
    );
    const wrongType = await run(
      ['create', '-f', '-'],
      pod('  - name: web\n    image: nginx\n    ports:\n    - containerPort: "80"\n'),
    );
    expect(wrongType.stderr).to.contain(
      'ValidationError(Pod.spec.containers[0].ports[0].containerPort): invalid type for io.k8s.api.core.v1.ContainerPort.containerPort: got "string", expected "integer"',
    );
    const unnamed = await run(['create', '-f', '-'], pod('  - image: nginx\n'));
    expect(unnamed.stderr).to.contain(
      'ValidationError(Pod.spec.containers[0]): missing required field "name" in io.k8s.api.core.v1.Container',
    );
    expect(await ok(['create', '-f', '-', '--validate=false'], typo)).to.contain('pod/checked created');
  });

  it('apply -f validates too, and its strategic merge patch (from the v2 patch metadata) applies twice', async () => {
    const typo = await run(['apply', '-f', '-'], rc('nginx:1', 'tier: web', '        imagePullPolicyy: Always\n'));
    expect(typo.stderr).to.contain('unknown field "imagePullPolicyy" in io.k8s.api.core.v1.Container');

    const first = await run(['apply', '-f', '-'], rc('nginx:1', 'tier: web'));
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.contain('replicationcontroller/applied created');
    const second = await run(['apply', '-f', '-'], rc('nginx:2', 'stage: two', '        - containerPort: 9090\n'));
    expect(second.code, second.stderr).to.equal(0);
    expect(second.stdout).to.contain('replicationcontroller/applied configured');
    // kubectl falls back to its compiled-in types, with this warning, when the document cannot drive the patch.
    expect(second.stderr).to.not.contain('error calculating patch from openapi spec');
    const got = JSON.parse(await ok(['get', 'rc', 'applied', '-o', 'json']));
    expect(got.metadata.labels).to.deep.equal({ stage: 'two' });
    const [main] = got.spec.template.spec.containers;
    expect(main.image).to.equal('nginx:2');
    expect(main.ports.map((p: { containerPort: number }) => p.containerPort)).to.deep.equal([8080, 9090]);
    expect(await ok(['apply', '-f', '-'], rc('nginx:2', 'stage: two', '        - containerPort: 9090\n'))).to.contain(
      'replicationcontroller/applied unchanged',
    );
  });
});
