/** Server-side apply with the real kubectl and @kubernetes/client-node: managedFields, conflicts, force. */
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../helpers/skip.js';

const pod = (name: string, image: string, extraLabels = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    app: ${name}
${extraLabels}spec:
  containers:
  - name: c
    image: ${image}
`;

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
}

describe('e2e: server-side apply', function () {
  this.timeout(60_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  const run = (args: string[], input?: string) => kubectl(ts.url, args, input);
  async function ok(args: string[], input?: string): Promise<string> {
    const r = await run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }
  const getPod = async (name: string, ...flags: string[]) =>
    JSON.parse(await ok(['get', 'pod', name, '-o', 'json', '--show-managed-fields', ...flags])) as {
      metadata: { managedFields?: Entry[]; labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: { containers: { name: string; image: string; env?: unknown[] }[] };
    };
  const managers = (p: { metadata: { managedFields?: Entry[] } }) =>
    (p.metadata.managedFields ?? []).map((e) => `${e.manager}/${e.operation}`);

  describe('kubectl', () => {
    before(function () {
      if (!kubectlPath) skipBecause(this, NO_KUBECTL);
    });

    it('apply --server-side creates the object and records an Apply entry', async () => {
      const out = await ok(['apply', '--server-side', '-f', '-'], pod('ssa', 'nginx:1'));
      expect(out).to.contain('pod/ssa serverside-applied');
      const p = await getPod('ssa');
      expect(p.spec.containers[0]!.image).to.equal('nginx:1');
      const entry = p.metadata.managedFields!.find((e) => e.manager === 'kubectl')!;
      expect(entry).to.include({ operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1' });
      expect(entry.time).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(entry.fieldsV1).to.deep.equal({
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
      });
    });

    it('get -o yaml --show-managed-fields shows managedFields; plain -o yaml hides them', async () => {
      const shown = parseYaml(await ok(['get', 'pod', 'ssa', '-o', 'yaml', '--show-managed-fields']));
      expect(shown.metadata.managedFields[0].manager).to.equal('kubectl');
      expect(await ok(['get', 'pod', 'ssa', '-o', 'yaml'])).to.not.contain('managedFields');
    });

    it('re-apply changes fields and removes the ones the manager dropped', async () => {
      await ok(['apply', '--server-side', '-f', '-'], pod('ssa', 'nginx:2', '    extra: more\n'));
      let p = await getPod('ssa');
      expect(p.spec.containers[0]!.image).to.equal('nginx:2');
      expect(p.metadata.labels).to.deep.equal({ app: 'ssa', extra: 'more' });
      const again = await run(['apply', '--server-side', '-f', '-'], pod('ssa', 'nginx:2'));
      expect(again.code, again.stderr).to.equal(0);
      p = await getPod('ssa');
      expect(p.metadata.labels).to.deep.equal({ app: 'ssa' });
      expect(managers(p)).to.deep.equal(['kubectl/Apply']);
    });

    it('a conflicting apply by another manager fails with upstream text; --force-conflicts takes over', async () => {
      const r = await run(['apply', '--server-side', '--field-manager=other', '-f', '-'], pod('ssa', 'nginx:3'));
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain(
        'Apply failed with 1 conflict: conflict with "kubectl": .spec.containers[name="c"].image',
      );
      expect(r.stderr).to.contain('--force-conflicts');
      expect((await getPod('ssa')).spec.containers[0]!.image).to.equal('nginx:2');

      await ok(
        ['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'],
        pod('ssa', 'nginx:3'),
      );
      const p = await getPod('ssa');
      expect(p.spec.containers[0]!.image).to.equal('nginx:3');
      const byManager = Object.fromEntries(p.metadata.managedFields!.map((e) => [e.manager, e.fieldsV1]));
      const kubectlItem = (byManager.kubectl as Record<string, Record<string, Record<string, object>>>)['f:spec']![
        'f:containers'
      ]!['k:{"name":"c"}'];
      expect(kubectlItem).to.deep.equal({ '.': {}, 'f:name': {} });
      // Same values are shared: no conflict, both own them.
      expect(JSON.stringify(byManager.other)).to.contain('f:app');
      expect(JSON.stringify(byManager.kubectl)).to.contain('f:app');
    });

    it('client-side apply works alongside and records kubectl-client-side-apply; SSA then conflicts with it', async () => {
      expect(await ok(['apply', '-f', '-'], pod('csa', 'busybox:1'))).to.contain('pod/csa created');
      let p = await getPod('csa');
      expect(managers(p)).to.deep.equal(['kubectl-client-side-apply/Update']);
      expect(p.metadata.annotations).to.have.property('kubectl.kubernetes.io/last-applied-configuration');
      expect(await ok(['apply', '-f', '-'], pod('csa', 'busybox:2'))).to.contain('pod/csa configured');
      p = await getPod('csa');
      expect(p.spec.containers[0]!.image).to.equal('busybox:2');

      const r = await run(['apply', '--server-side', '--field-manager=ssa', '-f', '-'], pod('csa', 'busybox:3'));
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain(
        'conflict with "kubectl-client-side-apply" using v1: .spec.containers[name="c"].image',
      );
      // kubectl's own manager may take over what client-side apply set (upstream's last-applied upgrade).
      await ok(['apply', '--server-side', '-f', '-'], pod('csa', 'busybox:3'));
      p = await getPod('csa');
      expect(p.spec.containers[0]!.image).to.equal('busybox:3');
      expect(managers(p)).to.include('kubectl/Apply');
      // And client-side apply keeps working afterwards.
      await ok(['apply', '-f', '-'], pod('csa', 'busybox:4'));
      expect((await getPod('csa')).spec.containers[0]!.image).to.equal('busybox:4');
    });

    it('other writes record Update entries named by fieldManager or the User-Agent', async () => {
      await ok(['label', 'pod', 'ssa', 'tier=web']);
      const p = await getPod('ssa');
      const label = p.metadata.managedFields!.find((e) => e.manager === 'kubectl-label')!;
      expect(label.operation).to.equal('Update');
      expect(label.fieldsV1).to.deep.equal({ 'f:metadata': { 'f:labels': { 'f:tier': {} } } });
    });

    it('a create records what upstream records: the defaults the server filled in, `.` only where the empty object had nothing', async () => {
      await ok(['run', 'kubia', '--image=luksa/kubia', '--port=8080']);
      const entry = (await getPod('kubia')).metadata.managedFields!.find((e) => e.manager === 'kubectl-run')!;
      expect(entry.operation).to.equal('Update');
      // As `kubectl get pod kubia -o yaml --show-managed-fields` prints it on an upstream cluster.
      expect(entry.fieldsV1).to.deep.equal({
        'f:metadata': { 'f:labels': { '.': {}, 'f:run': {} } },
        'f:spec': {
          'f:containers': {
            'k:{"name":"kubia"}': {
              '.': {},
              'f:image': {},
              'f:imagePullPolicy': {},
              'f:name': {},
              'f:ports': {
                '.': {},
                'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} },
              },
              'f:resources': {},
              'f:terminationMessagePath': {},
              'f:terminationMessagePolicy': {},
            },
          },
          'f:dnsPolicy': {},
          'f:enableServiceLinks': {},
          'f:restartPolicy': {},
          'f:schedulerName': {},
          'f:securityContext': {},
          'f:terminationGracePeriodSeconds': {},
        },
      });
    });

    it('a defaulted field belongs to the creator: another manager applying a new value conflicts with it', async () => {
      await ok(['create', 'service', 'clusterip', 'owned', '--tcp=80:8080']);
      const svc = JSON.parse(await ok(['get', 'service', 'owned', '-o', 'json', '--show-managed-fields']));
      const created = JSON.stringify(svc.metadata.managedFields.find((e: Entry) => e.manager === 'kubectl-create'));
      expect(created).to.contain('"f:sessionAffinity"').and.contain('"f:internalTrafficPolicy"');
      // The address families are the allocator's, not defaults (upstream's initIPFamilyFields): nobody's.
      expect(created).to.not.contain('f:ipFamilies');
      const affinity = `apiVersion: v1\nkind: Service\nmetadata:\n  name: owned\nspec:\n  sessionAffinity: ClientIP\n`;
      const r = await run(['apply', '--server-side', '--field-manager=ops', '-f', '-'], affinity);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain('conflict with "kubectl-create" using v1: .spec.sessionAffinity');
      // A PUT that leaves a defaulted field out changes nothing: the default is back before fields are counted.
      delete svc.spec.sessionAffinity;
      delete svc.metadata.managedFields;
      await ok(['replace', '-f', '-'], JSON.stringify(svc));
      const after = JSON.parse(await ok(['get', 'service', 'owned', '-o', 'json', '--show-managed-fields']));
      expect(after.spec.sessionAffinity).to.equal('None');
      const owner = after.metadata.managedFields.find((e: Entry) =>
        JSON.stringify(e.fieldsV1).includes('sessionAffinity'),
      );
      expect(owner?.manager).to.equal('kubectl-create');
    });

    it("an atomic map is one field: a Service's selector applied by another manager conflicts, and forced it replaces, not merges", async () => {
      const service = (selector: string) =>
        `apiVersion: v1\nkind: Service\nmetadata:\n  name: picky\nspec:\n  selector:\n    ${selector}\n  ports:\n  - port: 80\n`;
      await ok(['apply', '--server-side', '--field-manager=team-a', '-f', '-'], service('app: a'));
      const svc = JSON.parse(await ok(['get', 'service', 'picky', '-o', 'json', '--show-managed-fields']));
      const mine = svc.metadata.managedFields.find((e: Entry) => e.manager === 'team-a');
      expect((mine.fieldsV1['f:spec'] as Record<string, unknown>)['f:selector']).to.deep.equal({});
      const r = await run(['apply', '--server-side', '--field-manager=team-b', '-f', '-'], service('tier: b'));
      expect(r.stderr).to.contain('conflict with "team-a": .spec.selector');
      await ok(
        ['apply', '--server-side', '--field-manager=team-b', '--force-conflicts', '-f', '-'],
        service('tier: b'),
      );
      expect(JSON.parse(await ok(['get', 'service', 'picky', '-o', 'jsonpath={.spec.selector}']))).to.deep.equal({
        tier: 'b',
      });
    });

    it("a DNS Service's 53/UDP and 53/TCP apply as two ports (keyed by port and protocol), and one can be dropped", async () => {
      const service = (ports: string) =>
        `apiVersion: v1\nkind: Service\nmetadata:\n  name: dns\nspec:\n  selector:\n    app: dns\n  ports:\n${ports}`;
      const udp = '  - name: dns\n    port: 53\n    protocol: UDP\n';
      const tcp = '  - name: dns-tcp\n    port: 53\n';
      expect(await ok(['apply', '--server-side', '-f', '-'], service(udp + tcp))).to.contain(
        'service/dns serverside-applied',
      );
      const ports = async () =>
        JSON.parse(await ok(['get', 'service', 'dns', '-o', 'jsonpath={.spec.ports}'])).map(
          (p: { name: string; protocol: string }) => `${p.name}/${p.protocol}`,
        );
      expect(await ports()).to.deep.equal(['dns/UDP', 'dns-tcp/TCP']);
      await ok(['apply', '--server-side', '-f', '-'], service(udp));
      expect(await ports()).to.deep.equal(['dns/UDP']);
    });
  });

  describe('@kubernetes/client-node', () => {
    let kc: k8s.KubeConfig;
    before(() => {
      kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'skiff', server: ts.url, skipTLSVerify: true }],
        users: [{ name: 'anyone' }],
        contexts: [{ name: 'skiff', cluster: 'skiff', user: 'anyone' }],
        currentContext: 'skiff',
      });
    });

    it('patchNamespacedPod with ServerSideApply creates, updates and conflicts', async () => {
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const apply = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
      const body = (image: string) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'node-ssa', namespace: 'default' },
        spec: { containers: [{ name: 'c', image }] },
      });
      const created = await core.patchNamespacedPod(
        { name: 'node-ssa', namespace: 'default', body: body('a:1'), fieldManager: 'node-app' },
        apply,
      );
      expect(created.spec?.containers[0]?.image).to.equal('a:1');
      expect(created.metadata?.managedFields?.[0]?.manager).to.equal('node-app');
      const conflict = await core
        .patchNamespacedPod({ name: 'node-ssa', namespace: 'default', body: body('a:2'), fieldManager: 'rival' }, apply)
        .then(
          () => undefined,
          (e: { code?: number; body?: string }) => e,
        );
      expect(conflict?.code).to.equal(409);
      const status = JSON.parse(conflict!.body!);
      expect(status.reason).to.equal('Conflict');
      expect(status.details.causes[0]).to.deep.equal({
        reason: 'FieldManagerConflict',
        message: 'conflict with "node-app"',
        field: '.spec.containers[name="c"].image',
      });
      const forced = await core.patchNamespacedPod(
        { name: 'node-ssa', namespace: 'default', body: body('a:2'), fieldManager: 'rival', force: true },
        apply,
      );
      expect(forced.spec?.containers[0]?.image).to.equal('a:2');
      const missing = await core
        .patchNamespacedPod({ name: 'node-ssa', namespace: 'default', body: body('a:3') }, apply)
        .then(
          () => undefined,
          (e: { code?: number; body?: string }) => e,
        );
      expect(missing?.code).to.equal(422);
      expect(JSON.parse(missing!.body!).message).to.equal(
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    });

    it('KubernetesObjectApi.patch with PatchStrategy.ServerSideApply', async () => {
      const client = k8s.KubernetesObjectApi.makeApiClient(kc);
      const spec = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'generic-ssa', namespace: 'default' },
        data: { a: '1', b: '2' },
      };
      const created = await client.patch(
        spec,
        undefined,
        undefined,
        'obj-app',
        undefined,
        k8s.PatchStrategy.ServerSideApply,
      );
      expect((created as k8s.V1ConfigMap).data).to.deep.equal({ a: '1', b: '2' });
      const updated = (await client.patch(
        { ...spec, data: { a: '10' } },
        undefined,
        undefined,
        'obj-app',
        false,
        k8s.PatchStrategy.ServerSideApply,
      )) as k8s.V1ConfigMap;
      expect(updated.data).to.deep.equal({ a: '10' });
      expect(updated.metadata?.managedFields?.[0]?.fieldsV1).to.deep.equal({ 'f:data': { 'f:a': {} } });
    });
  });
});
