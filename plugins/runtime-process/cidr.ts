/** IPv4 CIDR arithmetic for pod addresses (IPv6 pod ranges are not supported by this runtime). */
import { RuntimeError } from 'skiff/sdk/runtime';

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
  /** Number of addresses in the range. */
  size: number;
  text: string;
}

export function ipToNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new RuntimeError('InvalidArgument', `"${ip}" is not an IPv4 address`, 'give a dotted IPv4 address');
  }
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(text: string): Cidr {
  const [ip, bits] = text.split('/');
  const prefix = Number(bits);
  if (bits === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new RuntimeError(
      'InvalidArgument',
      `"${text}" is not an IPv4 CIDR with a prefix of 8 to 30 bits`,
      'write it as 10.244.0.0/16',
    );
  }
  const size = 2 ** (32 - prefix);
  const base = ipToNumber(ip) - (ipToNumber(ip) % size);
  return { base, prefix, size, text: `${numberToIp(base)}/${prefix}` };
}

export function contains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

/** The same offset in another range of at least the same size (pod address → its loopback twin). */
export function translate(ip: string, from: Cidr, to: Cidr): string {
  return numberToIp(to.base + ((ipToNumber(ip) - from.base) % to.size));
}

/** The gateway of a node's pod range: its first usable address, owned by the host (as cni0's .1). */
export function gatewayOf(range: Cidr): string {
  return numberToIp(range.base + 1);
}

/**
 * Round-robin allocation inside a node's range (as upstream's host-local IPAM: the address after
 * the last one handed out, so a just-released address is not reused at once). Skips the network
 * address, the gateway and the broadcast address.
 */
export class AddressPool {
  private last: number;
  constructor(
    readonly range: Cidr,
    private readonly used: Set<string>,
  ) {
    this.last = range.base + 1;
  }

  allocate(): string {
    const first = this.range.base + 2;
    const count = this.range.size - 3;
    for (let i = 1; i <= count; i++) {
      const candidate = first + ((this.last - first + i) % count);
      const ip = numberToIp(candidate);
      if (!this.used.has(ip)) {
        this.used.add(ip);
        this.last = candidate;
        return ip;
      }
    }
    throw new RuntimeError(
      'NetworkNotReady',
      `no free pod address left in ${this.range.text}`,
      'remove pods from this node or give it a larger podCIDR',
    );
  }

  release(ip: string): void {
    this.used.delete(ip);
  }

  /** Continue after addresses found in use when adopting. */
  resumeAfter(ip: string): void {
    this.used.add(ip);
    const n = ipToNumber(ip);
    if (n > this.last) this.last = n;
  }
}
