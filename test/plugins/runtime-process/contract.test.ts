/**
 * The runtime contract's helpers and runtime-process's pure parts (no processes, no root): the
 * service it provides, its config defaults, image resolution, pod address allocation, shim text.
 */
import { expect } from 'chai';
import {
  cpuQuotaFromMillis,
  cpuSharesFromMillis,
  isRuntimeError,
  RuntimeError,
  type RuntimeProvider,
  runtimeKey,
} from 'skiff/sdk/runtime';
import { AddressPool, parseCidr, translate } from '../../../plugins/runtime-process/cidr.js';
import { processRuntimeConfig } from '../../../plugins/runtime-process/config.js';
import { containerArgv, ImageTable, parseImage } from '../../../plugins/runtime-process/images.js';
import manifest from '../../../plugins/runtime-process/index.js';

describe('runtime contract helpers and runtime-process (pure parts)', () => {
  it('provides its runtime under runtimeKey("process"), named after the plugin that provides it', async () => {
    const provided = new Map<string, unknown>();
    const ctx = {
      config: processRuntimeConfig.parse({}),
      logger: { child: () => ({}) },
      provide: { service: (key: { id: string }, value: unknown) => provided.set(key.id, value) },
      onClose() {},
    };
    await manifest.setup(ctx as never);
    const key = runtimeKey('process');
    expect(key).to.deep.equal({ id: 'container-runtime:process', what: 'the container runtime "process"' });
    expect((provided.get(key.id) as RuntimeProvider).name).to.equal('process');
    expect(manifest.name).to.equal('runtime-process');
  });

  it('defaults its config and refuses a prefix too long for link names', () => {
    expect(processRuntimeConfig.parse({})).to.include({
      prefix: 'skiff',
      clusterCIDR: '10.244.0.0/16',
      network: 'auto',
      namespaces: 'auto',
    });
    expect(() => processRuntimeConfig.parse({ prefix: 'waytoolong' })).to.throw(/letter/);
    expect(() => processRuntimeConfig.parse({ unknown: 1 })).to.throw();
  });

  it('converts CPU millis as upstream (1 CPU = 1024 shares, at least 2; quota over a 100 ms period)', () => {
    expect(cpuSharesFromMillis(500)).to.equal(512);
    expect(cpuSharesFromMillis(1)).to.equal(2);
    expect(cpuQuotaFromMillis(250)).to.deep.equal({ cpuQuota: 25_000, cpuPeriod: 100_000 });
    expect(cpuQuotaFromMillis(0).cpuQuota).to.equal(0);
    expect(cpuQuotaFromMillis(5).cpuQuota, 'at least 1 ms per period').to.equal(1000);
  });

  it('names runtime errors with a code and keeps the reason for the kubelet', () => {
    const err = new RuntimeError('ImageNotFound', 'no', 'fix it');
    expect(err.code).to.equal('SKIFF_RUNTIME_IMAGE_NOT_FOUND');
    expect(isRuntimeError(err, 'ImageNotFound')).to.equal(true);
    expect(isRuntimeError(err, 'NotFound')).to.equal(false);
  });

  it('resolves images by reference, name:tag, then name; ENTRYPOINT/CMD as upstream', () => {
    expect(parseImage('registry.k8s.io/e2e/busybox:1.36@sha256:abc')).to.deep.equal({ name: 'busybox', tag: '1.36' });
    expect(parseImage('localhost:5000/app')).to.deep.equal({ name: 'app', tag: 'latest' });
    const table = new ImageTable({ 'web:2': { entrypoint: ['/srv/web'], cmd: ['--port', '80'] } });
    const web = table.resolve('example.com/web:2');
    expect(containerArgv(web, undefined, undefined)).to.deep.equal(['/srv/web', '--port', '80']);
    expect(containerArgv(web, undefined, ['--port', '81'])).to.deep.equal(['/srv/web', '--port', '81']);
    expect(containerArgv(web, ['/bin/other'], undefined)).to.deep.equal(['/bin/other']);
    expect(table.resolve('python:3.12').cmd).to.deep.equal(['python3']);
    expect(() => table.resolve('web:3')).to.throw(RuntimeError, /not in runtime-process's image table/);
    expect(table.resolve('web:3', ['true']).entrypoint).to.deep.equal([]);
    const busybox = new ImageTable({ busybox: { entrypoint: [], cmd: ['sh'], applets: '/bin/busybox' } }).resolve(
      'busybox',
    );
    expect(containerArgv(busybox, ['/bin/sleep', '5'], undefined)).to.deep.equal(['/bin/busybox', 'sleep', '5']);
  });

  it('hands out pod addresses round-robin, skipping network, gateway and broadcast', () => {
    const pool = new AddressPool(parseCidr('10.244.3.0/30'), new Set());
    expect(pool.allocate()).to.equal('10.244.3.2');
    expect(() => pool.allocate()).to.throw(RuntimeError, /no free pod address/);
    pool.release('10.244.3.2');
    expect(pool.allocate()).to.equal('10.244.3.2');
    const big = new AddressPool(parseCidr('10.244.1.0/24'), new Set());
    const first = big.allocate();
    big.release(first);
    expect(big.allocate(), 'a released address is not reused at once').to.not.equal(first);
    expect(translate('10.244.3.7', parseCidr('10.244.0.0/16'), parseCidr('127.244.0.0/16'))).to.equal('127.244.3.7');
    expect(() => parseCidr('10.244.0.0')).to.throw(RuntimeError);
  });
});
