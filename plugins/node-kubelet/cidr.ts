/**
 * Which pod range a node takes while no controller assigns one (node IPAM arrives with the
 * controllers issue): the range node.spec.podCIDR already names, else --pod-cidr, else a /24 of the
 * runtime's cluster range that no other Node names, starting at the local node's index.
 */

/** An IPv4 range as numbers. */
interface Range {
  base: number;
  prefix: number;
}

function parse(cidr: string): Range | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return { base: ip - (ip % size), prefix };
}

function format(range: Range): string {
  const parts: number[] = [];
  let n = range.base;
  for (let i = 0; i < 4; i++) {
    parts.unshift(n % 256);
    n = Math.floor(n / 256);
  }
  return `${parts.join('.')}/${range.prefix}`;
}

/** Upstream's default --node-cidr-mask-size for IPv4. */
const NODE_PREFIX = 24;

/**
 * A /24 (or the whole range, when it is smaller) of `cluster` not in `taken`, trying the
 * `preferred`-th first; undefined when the range is full.
 */
export function choosePodCIDR(cluster: string, taken: ReadonlySet<string>, preferred = 0): string | undefined {
  const range = parse(cluster);
  if (!range) return undefined;
  const prefix = Math.max(NODE_PREFIX, range.prefix);
  const count = 2 ** (prefix - range.prefix);
  const normalized = new Set([...taken].map((c) => (parse(c) ? format(parse(c)!) : c)));
  for (let i = 0; i < count; i++) {
    const index = (preferred + i) % count;
    const candidate = format({ base: range.base + index * 2 ** (32 - prefix), prefix });
    if (!normalized.has(candidate)) return candidate;
  }
  return undefined;
}

/** The runtime's cluster range when it does not say (runtime-process's default). */
export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';
