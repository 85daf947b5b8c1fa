/** Parsers for flag values shared by several commands, with upstream's syntax. */
import { InvalidArgumentError } from 'commander';

export function bool(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('expected true or false');
}

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:h|m|s|ms))+$/;
const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };

/** A Go duration ("15s", "1m30s", "500ms"), as upstream's flags take, in seconds. */
export function goDurationSeconds(value: string): number {
  if (!GO_DURATION.test(value)) throw new InvalidArgumentError('expected a duration such as 15s, 1m30s or 500ms');
  let total = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) total += Number(n) * UNIT_SECONDS[unit!]!;
  return total;
}
