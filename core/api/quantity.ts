/**
 * resource.Quantity: "100m", "1.5Gi", "1e3" parsed into an exact integer count of nano-units, so
 * sums and comparisons are exact (quota arithmetic, request == limit), and printed back in
 * upstream's canonical form, keeping the format the value was written in (BinarySI stays binary).
 */

const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
export const QUANTITY_PATTERN = QUANTITY.source;

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIX).map(([s, e]) => [e, s]));
const NANO = 1_000_000_000n;

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The value × 10⁹, rounded up like upstream. */
  nano: bigint;
  format: QuantityFormat;
}

// Every pod brings the same few strings ("100m", "128Mi") to validation, defaulting, LimitRanger and
// ResourceQuota: parse each once. Bounded, since clients choose the strings; the results are frozen
// because every caller shares them.
const parsedStrings = new Map<string, Readonly<Quantity> | null>();
const PARSED_STRINGS_MAX = 4096;

/** A quantity with the format it was written in; undefined when `v` is not a quantity. */
export function parseQuantityWithFormat(v: unknown): Readonly<Quantity> | undefined {
  if (typeof v !== 'string') return parseUncached(v);
  const known = parsedStrings.get(v);
  if (known !== undefined) return known ?? undefined;
  const parsed = parseUncached(v);
  if (parsedStrings.size >= PARSED_STRINGS_MAX) parsedStrings.clear();
  parsedStrings.set(v, parsed ? Object.freeze(parsed) : null);
  return parsed;
}

function parseUncached(v: unknown): Quantity | undefined {
  const text = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  const m = text === undefined ? null : QUANTITY.exec(text);
  if (!m) return undefined;
  const [, num, suffix] = m as unknown as [string, string, string];
  const numberMatch = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(num);
  if (!numberMatch || `${numberMatch[2]}${numberMatch[3] ?? ''}` === '') return undefined;
  const [, sign, whole, frac = ''] = numberMatch as unknown as [string, string, string, string | undefined];
  let mantissa = BigInt(`${whole}${frac}` || '0');
  let exp10 = 9 - (frac?.length ?? 0);
  let exp2 = 0;
  let format: QuantityFormat = 'DecimalSI';
  if (suffix in DECIMAL_SUFFIX) exp10 += DECIMAL_SUFFIX[suffix]!;
  else if (suffix in BINARY_SUFFIX) {
    exp2 = BINARY_SUFFIX[suffix]!;
    format = 'BinarySI';
  } else if (/^[eE][-+]?\d+$/.test(suffix)) {
    exp10 += Number(suffix.slice(1));
    format = 'DecimalExponent';
  } else return undefined;
  mantissa <<= BigInt(exp2);
  if (exp10 >= 0) mantissa *= 10n ** BigInt(exp10);
  else {
    const div = 10n ** BigInt(-exp10);
    mantissa = (mantissa + div - 1n) / div;
  }
  return { nano: sign === '-' ? -mantissa : mantissa, format };
}

/** Nano-units (value × 10⁹), rounded up like upstream; undefined when `v` is not a quantity. */
export function parseQuantity(v: unknown): bigint | undefined {
  return parseQuantityWithFormat(v)?.nano;
}

/**
 * Upstream's canonical string: the largest suffix that keeps the number whole ("1k", "500m",
 * "1536Mi"). BinarySI values under 1024 or with a fraction print as DecimalSI, as upstream does.
 */
export function formatQuantity(nano: bigint, format: QuantityFormat = 'DecimalSI'): string {
  if (nano === 0n) return '0';
  const sign = nano < 0n ? '-' : '';
  const abs = nano < 0n ? -nano : nano;
  if (format === 'BinarySI' && abs >= 1024n * NANO && abs % NANO === 0n) {
    const units = abs / NANO;
    for (const [suffix, exp] of Object.entries(BINARY_SUFFIX).reverse()) {
      const div = 1n << BigInt(exp);
      if (units % div === 0n) return `${sign}${units / div}${suffix}`;
    }
    return `${sign}${units}`;
  }
  for (let exp = 18; exp >= -9; exp -= 3) {
    const div = 10n ** BigInt(exp + 9);
    if (abs % div !== 0n) continue;
    const mantissa = abs / div;
    if (format === 'DecimalExponent') return `${sign}${mantissa}${exp === 0 ? '' : `e${exp}`}`;
    return `${sign}${mantissa}${DECIMAL_BY_EXPONENT.get(exp)}`;
  }
  return `${sign}${abs}n`; // unreachable: every nano count is divisible by 10⁰
}

/** Re-print a quantity in canonical form ("1.5Gi" → "1536Mi"); non-quantities come back as given. */
export function canonicalQuantity(v: unknown): string {
  const q = parseQuantityWithFormat(v);
  return q ? formatQuantity(q.nano, q.format) : String(v);
}
