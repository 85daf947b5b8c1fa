/** The skiff bin as a user runs it: help, config check, coded errors, and up + SIGTERM. */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../helpers/temp-dirs.js';

const BIN = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('core/cli: the skiff bin', function () {
  this.timeout(60_000);

  it('--help on every command', () => {
    for (const args of [
      ['--help'],
      ['up', '--help'],
      ['apiserver', '--help'],
      ['config', 'check', '--help'],
      ['version', '--help'],
    ]) {
      const r = run(args);
      expect(r.status, args.join(' ')).to.equal(0);
      expect(r.stdout).to.contain('Usage: skiff');
    }
    expect(run(['up', '--help']).stdout)
      .to.contain('--secure-port')
      .and.contain('--tls-cert-file')
      .and.contain('--client-ca-file')
      .and.contain('--token-auth-file')
      .and.contain('--basic-auth-file')
      .and.contain('--service-account-key-file')
      .and.contain('--insecure-port')
      .and.contain('--storage-backend')
      .and.contain('--data-dir');
  });

  it('version prints the Kubernetes version served', () => {
    expect(run(['version']).stdout).to.contain('v1.32.0');
  });

  it('config check prints the plugins in run order; a bad file exits 2 with a coded error', () => {
    const ok = run(['config', 'check']);
    expect(ok.status).to.equal(0);
    expect(ok.stdout).to.match(/1\. storage-sqlite[\s\S]*4\. api-core-v1/);
    const bad = run(['config', 'check', '--config', '/nonexistent.yaml']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('SKIFF_CONFIG_NOT_FOUND').and.contain('fix:');
  });

  it('--authorization-mode names upstream modes; an unknown one, or ABAC without a file, exits 2', () => {
    const rbac = run(['up', '--authorization-mode=RBAC', '--secure-port', '0']);
    expect(rbac.status).to.equal(2);
    expect(rbac.stderr).to.contain('SKIFF_AUTHORIZATION_MODE').and.contain('AlwaysAllow, AlwaysDeny, ABAC');
    const abac = run(['up', '--authorization-mode=ABAC', '--secure-port', '0']);
    expect(abac.stderr).to.contain('--authorization-policy-file');
  });

  it('--authorization-config: upstream AuthorizationConfiguration sets the chain in order', async () => {
    const dir = tempDir('skiff-authz-config-');
    const policy = join(dir, 'policy.jsonl');
    writeFileSync(policy, '{"user":"alice"}\n');
    const config = join(dir, 'authz.yaml');
    writeFileSync(
      config,
      'apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n  - {type: ABAC, name: abac, abac: {policyFile: ' +
        policy +
        '}}\n  - {type: AlwaysDeny, name: deny}\n',
    );
    const child = spawn(process.execPath, [
      BIN,
      'up',
      '--authorization-config',
      config,
      '--secure-port',
      '0',
      '--insecure-port',
      'auto',
      '--storage-backend',
      'memory',
      '--data-dir',
      dir,
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes('"chains"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const line = JSON.parse(out.split('\n').find((l) => l.includes('"chains"'))!);
      expect(line.chains.authorization).to.deep.equal([
        'system:masters',
        'self-reviews',
        'system:public-info-viewer',
        'authz-abac',
        'authz-always-deny',
      ]);
    } finally {
      child.kill('SIGTERM');
    }
    writeFileSync(config, 'kind: Something\n');
    const bad = run(['up', '--authorization-config', config, '--secure-port', '0']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('SKIFF_AUTHORIZATION_CONFIG');
  });

  it('an unknown flag or command exits 2', () => {
    expect(run(['up', '--no-such-flag']).status).to.equal(2);
    expect(run(['fly']).status).to.equal(2);
  });

  it('watch cache flags in upstream syntax; a malformed one exits 2 saying how to write it', () => {
    const bad = run(['up', '--watch-cache-sizes', 'events=0']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('invalid watch cache size "events=0"').and.contain('resource[.group]#size');
    // 0 is upstream's "no watch caches" (test/plugins/api-watch-cache/sizes.test.ts serves a cluster so); not a number is refused.
    const notANumber = run(['up', '--default-watch-cache-size', 'lots']);
    expect(notANumber.status).to.equal(2);
    expect(notANumber.stderr).to.contain('expected a whole number, 0 for no watch caches');
    expect(run(['up', '--default-watch-cache-size', '-1']).status).to.equal(2);
    expect(run(['up', '--help']).stdout).to.contain('--watch-cache-sizes');
  });

  it('up serves on a free port and exits 0 on SIGTERM', async () => {
    const dataDir = tempDir('skiff-cli-');
    const child = spawn(process.execPath, [
      BIN,
      'up',
      '--insecure-port',
      'auto',
      '--secure-port',
      '0',
      '--storage-backend',
      'sqlite',
      '--data-dir',
      dataDir,
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    try {
      const deadline = Date.now() + 20_000;
      let port = 0;
      while (!port && Date.now() < deadline) {
        const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) port = Number(m[1]);
        else await new Promise((r) => setTimeout(r, 50));
      }
      expect(port, out).to.be.greaterThan(0);
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(res.status).to.equal(200);
      const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exit).to.equal(0);
      expect(out).to.contain('stopped');
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
