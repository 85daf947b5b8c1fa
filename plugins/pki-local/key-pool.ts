/**
 * RSA keys made ahead, in parallel. A first start creates four keys (the CA's, the service-account
 * key, the serving certificate's, the admin's), each 100-400 ms of native work; made one after
 * another on the main thread they were over a second of start-up. Here they are made by
 * node:crypto's async generateKeyPair on libuv's thread pool, side by side and beside the main
 * thread's own start-up work, and each use takes its key when it comes to need one; a use that can
 * wait (the serving certificate, the admin kubeconfig) waits for its key rather than make another.
 */
import { generateKeyPair } from 'node:crypto';
import { newRsaKeyPem } from './certificates.js';

/** What a key is for: the name of the files it goes into (ca, service-account, apiserver, admin). */
export type KeyPurpose = string;

export class KeyPool {
  private readonly made = new Map<KeyPurpose, string>();
  private readonly pending = new Map<KeyPurpose, Promise<void>>();

  /**
   * Starts making a key for each purpose (unless one is made or being made); resolves once they
   * are all made. One that could not be made is left for `take` to make (and report, if it fails).
   */
  prepare(purposes: readonly KeyPurpose[]): Promise<void> {
    for (const purpose of purposes) {
      if (this.made.has(purpose) || this.pending.has(purpose)) continue;
      const making: Promise<void> = newRsaKeyPemAsync().then((pem) => {
        // Kept only if no use has taken (or made) the purpose's key meanwhile.
        if (this.pending.get(purpose) !== making) return;
        this.pending.delete(purpose);
        this.made.set(purpose, pem);
      });
      this.pending.set(purpose, making);
    }
    return Promise.all(purposes.map((p) => this.settled(p))).then(() => undefined);
  }

  /**
   * Resolves once the key being made ahead for `purpose` (if any) is made, so `take` finds it. A
   * key that could not be made ahead is not an error here: `take` then makes one, and its failure
   * is the one reported.
   */
  async settled(purpose: KeyPurpose): Promise<void> {
    await this.pending.get(purpose)?.catch(() => {});
  }

  /**
   * The key made ahead for `purpose`, or, when none is ready (none was asked for, or it is still
   * being made), a new one made now: a synchronous caller cannot wait, and a key is never used twice.
   */
  take(purpose: KeyPurpose): string {
    const pem = this.made.get(purpose);
    this.made.delete(purpose);
    this.pending.delete(purpose);
    return pem ?? newRsaKeyPem();
  }
}

function newRsaKeyPemAsync(bits = 2048): Promise<string> {
  return new Promise((resolve, reject) =>
    generateKeyPair(
      'rsa',
      {
        modulusLength: bits,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      },
      (err, _publicKey, privateKey) => (err ? reject(err) : resolve(privateKey)),
    ),
  );
}
