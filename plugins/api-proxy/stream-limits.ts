/**
 * Bounds on long-running connections through the proxy (upgrades and followed logs): upstream
 * counts none of them in max-in-flight, so without a bound of their own one user could hold every
 * socket the process has. Over a bound: 429, retry in a second, as the in-flight limit answers.
 */
import { errors } from 'skiff/sdk/api';

export class StreamLimits {
  private total = 0;
  private readonly perUser = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerUser: number,
  ) {}

  /** Takes a slot for `user`; call the returned function once when the stream ends. */
  acquire(user: string): () => void {
    const mine = this.perUser.get(user) ?? 0;
    if (this.total >= this.maxTotal || mine >= this.maxPerUser) {
      throw errors.tooManyRequests('Too many streaming connections through the proxy, please try again later.', 1);
    }
    this.total++;
    this.perUser.set(user, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perUser.get(user) ?? 1) - 1;
      if (left > 0) this.perUser.set(user, left);
      else this.perUser.delete(user);
    };
  }

  get active(): number {
    return this.total;
  }
}
