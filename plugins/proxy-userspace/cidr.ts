/** IPv4 CIDR arithmetic for the service range and --nodeport-addresses. */
import { isIPv4 } from 'node:net';

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
  text: string;
}

export function ipToNumber(ip: string): number {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** undefined when not an IPv4 CIDR; a bare address is its /32. */
export function parseCidr(text: string): Cidr | undefined {
  const [ip, bits = '32', extra] = text.split('/');
  const prefix = Number(bits);
  if (extra !== undefined || !ip || !isIPv4(ip) || !/^\d{1,2}$/.test(bits) || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const base = ipToNumber(ip) - (ipToNumber(ip) % size);
  return { base, prefix, text: `${numberToIp(base)}/${prefix}` };
}

export function containsIp(cidr: Cidr, ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const n = ipToNumber(ip);
  return n >= cidr.base && n < cidr.base + 2 ** (32 - cidr.prefix);
}

/** Whether the two ranges share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const aEnd = a.base + 2 ** (32 - a.prefix);
  const bEnd = b.base + 2 ** (32 - b.prefix);
  return a.base < bEnd && b.base < aEnd;
}

/** 127.0.0.0/8: always local to this host, nothing to route. */
export const LOOPBACK = parseCidr('127.0.0.0/8')!;

export function isLoopbackRange(cidr: Cidr): boolean {
  return cidr.prefix >= 8 && containsIp(LOOPBACK, numberToIp(cidr.base));
}
