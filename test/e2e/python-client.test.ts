/** python3-kubernetes from Debian (installed by .ci/run) against a real server on loopback. */
import { execFile, spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';

// Debian's package installs for Debian's interpreter, which may not be the python3 first on PATH.
const PYTHON = '/usr/bin/python3';
const hasClient = spawnSync(PYTHON, ['-c', 'import kubernetes'], { stdio: 'ignore' }).status === 0;
const SCRIPT = new URL('./python/client_check.py', import.meta.url).pathname;

describe('e2e: python3-kubernetes', function () {
  this.timeout(60_000);
  let ts: TestServer;
  before(async function () {
    if (!hasClient) {
      console.warn('    SKIPPED: python3-kubernetes is not installed for /usr/bin/python3 (bash .ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  it('lists, creates, watches and deletes', async () => {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(PYTHON, [SCRIPT, ts.url], { timeout: 45_000 }, (err, out, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out),
      ),
    );
    const result = JSON.parse(stdout);
    expect(result.namespaces).to.include.members(['default', 'kube-public', 'kube-system']);
    expect(result.created_uid).to.equal(true);
    expect(result.listed).to.deep.equal(['from-python']);
    expect(result.after_delete).to.equal(404);
    expect(result.events).to.deep.equal(['ADDED from-python', 'MODIFIED from-python', 'DELETED from-python']);
  });
});
