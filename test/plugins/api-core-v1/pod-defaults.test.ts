/**
 * A created pod as a 1.32 kube-apiserver returns it: the expected objects are written out from
 * upstream's defaulting (pkg/apis/core/v1/defaults.go and the generated defaulters), its v1
 * conversion (serviceAccount is a copy of serviceAccountName) and its default admission plugins
 * (ServiceAccount; Priority's priority 0 and PreemptLowerPriority for a pod naming no class).
 * Left out on purpose: the not-ready/unreachable tolerations DefaultTolerationSeconds adds (that
 * plugin comes with the controllers).
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The kube-api-access-xxxxx volume ServiceAccount admission adds, under a fixed name for comparing. */
const TOKEN_VOLUME = {
  name: 'kube-api-access',
  projected: {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      {
        downwardAPI: {
          items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
        },
      },
    ],
  },
};

// biome-ignore lint/suspicious/noExplicitAny: pods are read as the JSON they are
type Json = any;

/** The generated token volume's name (random) replaced by a fixed one. */
function withFixedTokenName(spec: Json): Json {
  const volume = spec.volumes?.find((v: Json) => v.name.startsWith('kube-api-access-'));
  if (!volume) return spec;
  const generated = volume.name;
  return JSON.parse(JSON.stringify(spec).replaceAll(generated, 'kube-api-access'));
}

describe('plugins/api-core-v1: a created pod, field for field as upstream', function () {
  this.timeout(30_000);
  let ts: TestServer;
  const create = async (pod: Json) => {
    const r = await api(ts.url, 'POST', '/api/v1/namespaces/default/pods', pod);
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body;
  };
  before(async () => {
    ts = await startTestServer({
      plugins: {
        'admission-service-account': {},
        'controller-service-account': {},
        // Priority's priority 0 and PreemptLowerPriority come from its admission plugin, as upstream.
        'api-scheduling-v1': {},
        'admission-priority': {},
      },
    });
    // The service-account controller creates `default` in each namespace; wait for it.
    const deadline = Date.now() + 10_000;
    while ((await api(ts.url, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status !== 200) {
      if (Date.now() > deadline) throw new Error('the default service account never appeared');
      await new Promise((r) => setTimeout(r, 50));
    }
    await api(ts.url, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'builder' } });
  });
  after(async () => ts?.close());

  it('`kubectl run nginx --image=nginx`', async () => {
    const pod = await create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nginx', labels: { run: 'nginx' } },
      spec: {
        containers: [{ name: 'nginx', image: 'nginx', resources: {} }],
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
      },
    });
    expect(withFixedTokenName(pod.spec)).to.deep.equal({
      containers: [
        {
          name: 'nginx',
          image: 'nginx',
          resources: {},
          volumeMounts: [{ name: 'kube-api-access', readOnly: true, mountPath: TOKEN_PATH }],
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'Always',
        },
      ],
      volumes: [TOKEN_VOLUME],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      securityContext: {},
      schedulerName: 'default-scheduler',
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    });
    expect(pod.status).to.deep.equal({ phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('an older manifest: serviceAccount only, probes, hooks and volumes get their defaults', async () => {
    const pod = await create({
      metadata: { name: 'legacy' },
      spec: {
        serviceAccount: 'builder',
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'app',
            image: 'registry.example.com/app:2.1',
            livenessProbe: { httpGet: { port: 8080 } },
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5 },
            startupProbe: { grpc: { port: 9090 } },
            lifecycle: { preStop: { httpGet: { path: '/quit', port: 8080 } } },
            env: [{ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
          },
        ],
        volumes: [
          { name: 'cfg', configMap: { name: 'cfg' } },
          { name: 'creds', secret: { secretName: 'creds' } },
          { name: 'logs', hostPath: { path: '/var/log' } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          {
            name: 'token',
            projected: { sources: [{ serviceAccountToken: { path: 'token', audience: 'vault' } }] },
          },
          { name: 'scratch' },
        ],
      },
    });
    const spec = pod.spec;
    expect(spec.serviceAccountName).to.equal('builder');
    expect(spec.serviceAccount).to.equal('builder');
    const [app] = spec.containers;
    const probe = { timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };
    expect(app.imagePullPolicy).to.equal('IfNotPresent');
    expect(app.livenessProbe).to.deep.equal({
      httpGet: { port: 8080, path: '/', scheme: 'HTTP' },
      periodSeconds: 10,
      ...probe,
    });
    expect(app.readinessProbe).to.deep.equal({ tcpSocket: { port: 8080 }, periodSeconds: 5, ...probe });
    expect(app.startupProbe).to.deep.equal({ grpc: { port: 9090, service: '' }, periodSeconds: 10, ...probe });
    expect(app.lifecycle.preStop.httpGet).to.deep.equal({ path: '/quit', port: 8080, scheme: 'HTTP' });
    expect(app.env[0].valueFrom.fieldRef).to.deep.equal({ apiVersion: 'v1', fieldPath: 'spec.nodeName' });
    expect(spec.volumes).to.deep.equal([
      { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
      { name: 'creds', secret: { secretName: 'creds', defaultMode: 420 } },
      { name: 'logs', hostPath: { path: '/var/log', type: '' } },
      {
        name: 'info',
        downwardAPI: {
          items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }],
          defaultMode: 420,
        },
      },
      {
        name: 'token',
        projected: {
          sources: [{ serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 3600 } }],
          defaultMode: 420,
        },
      },
      { name: 'scratch', emptyDir: {} },
    ]);
  });

  it('serviceAccountName wins over a different serviceAccount, which becomes its copy', async () => {
    const pod = await create({
      metadata: { name: 'both' },
      spec: {
        serviceAccountName: 'builder',
        serviceAccount: 'default',
        containers: [{ name: 'c', image: 'nginx:1.25' }],
      },
    });
    expect(pod.spec).to.include({ serviceAccountName: 'builder', serviceAccount: 'builder' });
  });
});
