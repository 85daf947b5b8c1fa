/**
 * Upstream's cidrset: a cluster CIDR cut into node ranges of one mask size, handed out from the
 * one after the last handed out (so a range just released is not reused at once), marked used when
 * a node already has one, and released when the node goes. IPv4.
 */

export interface Cidr {
  base: number;
  prefix: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return { base: ip - (ip % size), prefix };
}

export function formatCidr(c: Cidr): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(c.base / 2 ** shift) % 256);
  return `${octets.join('.')}/${c.prefix}`;
}

export class CidrSet {
  private readonly used = new Set<number>();
  private readonly count: number;
  private readonly step: number;
  private next = 0;

  constructor(
    readonly cluster: Cidr,
    readonly maskSize: number,
  ) {
    this.count = 2 ** (maskSize - cluster.prefix);
    this.step = 2 ** (32 - maskSize);
  }

  /** The index of a node range inside the cluster range, or undefined when it is not one of ours. */
  private indexOf(cidr: Cidr): number | undefined {
    if (cidr.prefix !== this.maskSize) return undefined;
    const offset = cidr.base - this.cluster.base;
    if (offset < 0 || offset >= this.count * this.step) return undefined;
    return offset / this.step;
  }

  /** The next free range, or undefined when all are taken (upstream's ErrCIDRRangeNoCIDRsRemaining). */
  allocateNext(): string | undefined {
    for (let i = 0; i < this.count; i++) {
      const index = (this.next + i) % this.count;
      if (this.used.has(index)) continue;
      this.used.add(index);
      this.next = (index + 1) % this.count;
      return formatCidr({ base: this.cluster.base + index * this.step, prefix: this.maskSize });
    }
    return undefined;
  }

  /** Marks a range a node already has; false when it is not a range of this set. */
  occupy(text: string): boolean {
    const cidr = parseCidr(text);
    const index = cidr && this.indexOf(cidr);
    if (index === undefined) return false;
    this.used.add(index);
    return true;
  }

  release(text: string): void {
    const cidr = parseCidr(text);
    const index = cidr && this.indexOf(cidr);
    if (index !== undefined) this.used.delete(index);
  }

  get free(): number {
    return this.count - this.used.size;
  }
}
