/**
 * The kubelet server's self-signed pair, got ahead: `skiff up` starts making each local node's
 * pair as it sets up (two RSA keys, a few hundred ms), and the server later takes that very pair
 * instead of making another; asked again, it is read back from --cert-dir.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { prepareServingPair, servingPair, servingPairOptions } from '../../../plugins/node-kubelet/server/tls.js';
import { tempDir } from '../../helpers/temp-dirs.js';

describe('node-kubelet: the serving pair made ahead', function () {
  this.timeout(30_000);

  it('the server takes the pair prepared ahead, written to <root-dir>/pki, and finds it there later', async () => {
    const rootDir = tempDir('skiff-serving-pair-');
    const options = servingPairOptions({ address: '127.0.0.1' }, 'n1', rootDir);
    expect(options.certDir).to.equal(join(rootDir, 'pki'));
    prepareServingPair(options);
    const taken = await servingPair(options);
    expect(taken.source).to.equal(`${join(rootDir, 'pki', 'kubelet.crt')} (self-signed)`);
    expect(readFileSync(join(rootDir, 'pki', 'kubelet.key'), 'utf8')).to.equal(taken.keyPem);
    // Taken once: the next ask reads the files back (a restart's path), the same pair.
    const again = await servingPair(options);
    expect(again.source).to.equal(join(rootDir, 'pki', 'kubelet.crt'));
    expect(again.keyPem).to.equal(taken.keyPem);
  });

  it('a pair that cannot be got fails when the server takes it, with the coded error, not before', async () => {
    const options = servingPairOptions(
      { address: '127.0.0.1', tlsCertFile: '/nonexistent/kubelet.crt' },
      'n2',
      tempDir('skiff-serving-pair-'),
    );
    prepareServingPair(options);
    await new Promise((r) => setTimeout(r, 10));
    let failure: unknown;
    await servingPair(options).catch((err) => {
      failure = err;
    });
    expect(String(failure)).to.match(/SKIFF_KUBELET_TLS_FILES|go together/);
  });
});
