/**
 * The addresses cloud-local hands to balancers: a range of 127.0.0.0/8 (every such address is
 * local on Linux, so a balancer can listen on it without configuring anything), one address per
 * balancer, the lowest free first, taken back when the balancer is deleted.
 */

export interface Range {
  first: number;
  last: number;
}

const toNumber = (ip: string): number | undefined => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  return octets.some((o) => o > 255) ? undefined : octets.reduce((acc, o) => acc * 256 + o, 0);
};

const toIP = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** The usable addresses of a CIDR inside 127.0.0.0/8 (its first and last are left out), or why not. */
export function parseRange(cidr: string): Range | string {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  const base = m ? toNumber(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : Number.NaN;
  if (base === undefined || !(prefix >= 8 && prefix <= 30))
    return 'must be an IPv4 CIDR from /8 to /30 inside 127.0.0.0/8, such as 127.97.0.0/16';
  if (Math.floor(base / 2 ** 24) !== 127)
    return 'must lie inside 127.0.0.0/8 (loopback addresses are local to this machine)';
  const size = 2 ** (32 - prefix);
  const start = base - (base % size);
  return { first: start + 1, last: start + size - 2 };
}

export class AddressPool {
  private readonly used = new Set<number>();

  constructor(
    private readonly range: Range,
    /** The CIDR as configured, for messages. */
    readonly cidr: string,
  ) {}

  /** Takes exactly `ip`: false when it is outside the range or taken. */
  takeExactly(ip: string): boolean {
    const n = toNumber(ip);
    if (n === undefined || n < this.range.first || n > this.range.last || this.used.has(n)) return false;
    this.used.add(n);
    return true;
  }

  /** Takes `preferred` if it is in range and free, else the lowest free address; undefined when full. */
  take(preferred?: string): string | undefined {
    if (preferred && this.takeExactly(preferred)) return preferred;
    for (let a = this.range.first; a <= this.range.last; a++) {
      if (this.used.has(a)) continue;
      this.used.add(a);
      return toIP(a);
    }
    return undefined;
  }

  release(ip: string): void {
    const n = toNumber(ip);
    if (n !== undefined) this.used.delete(n);
  }
}
