/** /openapi/v3 with real schemas, and kubectl explain reading them. */
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../helpers/skip.js';

describe('e2e: OpenAPI v3 and kubectl explain', function () {
  this.timeout(60_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  it('serves schemas generated from the API definitions, with group-version-kinds and list semantics', async () => {
    const root = await api(ts.url, 'GET', '/openapi/v3');
    const url = root.body.paths['api/v1'].serverRelativeURL as string;
    expect(url).to.match(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{32}$/);
    const doc = (await api(ts.url, 'GET', url)).body;
    const schemas = doc.components.schemas;
    // kubectl apply builds its strategic merge patch from v3 only when PATCH says it takes one.
    const patch = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'].patch;
    expect(patch.requestBody.content).to.have.property('application/strategic-merge-patch+json');
    const pod = schemas['io.k8s.api.core.v1.Pod'];
    expect(pod['x-kubernetes-group-version-kind']).to.deep.equal([{ group: '', version: 'v1', kind: 'Pod' }]);
    expect(pod.properties.spec.allOf).to.deep.equal([{ $ref: '#/components/schemas/io.k8s.api.core.v1.PodSpec' }]);
    expect(pod.description).to.match(/^Pod is a collection of containers/);
    expect(pod.properties.spec.description).to.match(/^Specification of the desired behavior of the pod/);
    const containers = schemas['io.k8s.api.core.v1.PodSpec'].properties.containers;
    expect(containers).to.include({
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-patch-merge-key': 'name',
    });
    expect(containers['x-kubernetes-list-map-keys']).to.deep.equal(['name']);
    expect(schemas['io.k8s.api.core.v1.Container'].required).to.deep.equal(['name']);
    expect(schemas['io.k8s.api.core.v1.Volume'].properties).to.have.property('emptyDir'); // inlined VolumeSource
    expect(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.creationTimestamp).to.include({
      type: 'string',
      format: 'date-time',
    });
    // Fields of inlined structs are described under the outer type, as in upstream's spec.
    expect(schemas['io.k8s.api.core.v1.Volume'].properties.emptyDir.description).to.match(/^emptyDir represents/);
  });

  it('kubectl explain walks fields of core and other groups', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const containers = await kubectl(ts.url, ['explain', 'pod.spec.containers']);
    expect(containers.code, containers.stderr).to.equal(0);
    expect(containers.stdout).to.match(/FIELD: containers <\[\]Container>/);
    expect(containers.stdout)
      .to.match(/^\s+image\s+<string>/m)
      .and.match(/^\s+ports\s+<\[\]ContainerPort>/m);
    expect(containers.stdout).to.match(/DESCRIPTION:\n\s+List of containers belonging to the pod\./);
    const image = await kubectl(ts.url, ['explain', 'pod.spec.containers.image']);
    expect(image.stdout)
      .to.match(/FIELD: image <string>/)
      .and.match(/^\s+Container image name\./m);
    const rc = await kubectl(ts.url, ['explain', 'rc.spec']);
    expect(rc.stdout)
      .to.match(/^\s+selector\s+<map\[string\]string>/m)
      .and.match(/^\s+template\s+<PodTemplateSpec>/m);
    const recursive = await kubectl(ts.url, ['explain', 'pods', '--recursive']);
    expect(recursive.stdout).to.match(/^\s+metadata\s+<ObjectMeta>/m);
    const lease = await kubectl(ts.url, ['explain', 'leases.spec']);
    expect(lease.stdout)
      .to.contain('GROUP:      coordination.k8s.io')
      .and.match(/holderIdentity\s+<string>/);
  });
});
