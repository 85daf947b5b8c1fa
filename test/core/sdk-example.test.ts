/** The example third-party plugin, loaded by path the way an operator would load one. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { api, startTestServer } from '../helpers/server.js';

const EXAMPLE = new URL('../../config/examples/plugins/admission-require-labels', import.meta.url).pathname;
const EXAMPLE_CONFIG = new URL('../../config/examples/require-labels.yaml', import.meta.url).pathname;
const SKIFF = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;

describe('SDK example plugin, loaded by path', () => {
  it('enforces its labels in a real server, imported through skiff/sdk', async () => {
    const s = await startTestServer({
      plugins: {
        'admission-require-labels': {
          path: EXAMPLE,
          config: { resources: ['pods'], required: ['team'], defaults: { tier: 'web' } },
        },
      },
    });
    try {
      const pod = (labels: Record<string, string>) => ({
        metadata: { name: 'web', labels },
        spec: { containers: [{ name: 'app', image: 'busybox' }] },
      });
      const refused = await api(s.url, 'POST', '/api/v1/namespaces/default/pods', pod({}));
      expect(refused.status).to.equal(403);
      expect(refused.body.message).to.equal('pods "web" is forbidden: missing required label(s): team');
      const ok = await api(s.url, 'POST', '/api/v1/namespaces/default/pods', pod({ team: 'blue' }));
      expect(ok.status).to.equal(201);
      expect(ok.body.metadata.labels).to.deep.equal({ team: 'blue', tier: 'web' });
    } finally {
      await s.close();
    }
  });

  it('skiff config check prints it in the chains, from any working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-sdk-example-'));
    try {
      const out = execFileSync(
        process.execPath,
        [SKIFF, 'config', 'check', '--config', EXAMPLE_CONFIG, '--data-dir', dir],
        {
          cwd: tmpdir(),
          encoding: 'utf8',
        },
      );
      expect(out).to.contain('admission (mutating): NamespaceLifecycle, RequireLabels');
      expect(out).to.contain('admission (validating): RequireLabels');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
