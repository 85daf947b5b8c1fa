/**
 * admission-default-toleration-seconds (upstream's DefaultTolerationSeconds) on a real server: a
 * created pod gets 300-second NoExecute tolerations of not-ready and unreachable unless it
 * tolerates them already (by key, or by an empty key, with NoExecute or no effect).
 */
import { expect } from 'chai';
import type { Toleration } from 'kubernetes-types/core/v1.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const PODS = '/api/v1/namespaces/default/pods';
const pod = (name: string, tolerations?: unknown[]) => ({
  metadata: { name },
  spec: { containers: [{ name: 'app', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) },
});

describe('admission-default-toleration-seconds', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ plugins: { 'admission-default-toleration-seconds': {} } });
  });
  after(async () => s?.close());

  it('adds the not-ready and unreachable tolerations with 300 seconds to a pod without them', async () => {
    const r = await api(s.url, 'POST', PODS, pod('plain'));
    expect(r.status).to.equal(201);
    expect(r.body.spec.tolerations).to.deep.equal([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
  });

  it('leaves a toleration the pod has, and one that tolerates every key, alone', async () => {
    const own = {
      key: 'node.kubernetes.io/unreachable',
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: 6000,
    };
    const r = await api(s.url, 'POST', PODS, pod('own', [own]));
    expect(r.body.spec.tolerations).to.deep.equal([
      own,
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    const everything = { operator: 'Exists' };
    const all = await api(s.url, 'POST', PODS, pod('all', [everything]));
    expect(all.body.spec.tolerations).to.deep.equal([everything]);
  });

  it('takes its seconds from the config (--default-*-toleration-seconds)', async () => {
    const other = await startTestServer({
      plugins: {
        'admission-default-toleration-seconds': {
          config: { defaultNotReadyTolerationSeconds: 60, defaultUnreachableTolerationSeconds: 30 },
        },
      },
    });
    try {
      const r = await api(other.url, 'POST', PODS, pod('tuned'));
      expect(r.body.spec.tolerations.map((t: Toleration) => t.tolerationSeconds)).to.deep.equal([60, 30]);
    } finally {
      await other.close();
    }
  });
});
