/**
 * Pod addresses from a node's pod CIDR, as a real runtime's IPAM hands them out: the first address
 * is the node's own (its gateway on the pod network), pods take the next free ones, and a released
 * address is reused only after the range has been walked through once (no immediate reuse).
 */
import { RuntimeError } from 'skiff/sdk/runtime';

interface Range {
  base: number;
  size: number;
}

export function parseRange(cidr: string): Range {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = Number(m?.[5]);
  if (!m || octets.some((o) => o > 255) || prefix > 30) {
    throw new RuntimeError(
      'InvalidArgument',
      `"${cidr}" is not an IPv4 CIDR of at least 4 addresses`,
      'give a range such as 10.64.3.0/24',
    );
  }
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return { base: ip - (ip % size), size };
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function contains(outer: Range, inner: Range): boolean {
  return inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

export class AddressPool {
  private readonly used = new Set<number>();
  /** The next offset to try: offsets 0 (network), 1 (the node) and size-1 (broadcast) are never given. */
  private next = 2;

  constructor(readonly range: Range) {}

  get gateway(): string {
    return formatIp(this.range.base + 1);
  }

  take(): string {
    const count = this.range.size - 3;
    for (let i = 0; i < count; i++) {
      const offset = this.next;
      this.next = offset + 1 >= this.range.size - 1 ? 2 : offset + 1;
      if (this.used.has(offset)) continue;
      this.used.add(offset);
      return formatIp(this.range.base + offset);
    }
    throw new RuntimeError(
      'NetworkNotReady',
      `the pod range is full (${count} addresses in use)`,
      'give the node a larger pod CIDR, or fewer pods (--max-pods)',
    );
  }

  release(ip: string): void {
    const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    this.used.delete(n - this.range.base);
  }
}
