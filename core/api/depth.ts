/**
 * How deep a request body may nest. Upstream's decoders stop at 10000 levels (the JSON scanner of
 * sigs.k8s.io/json, go-yaml's "exceeded max depth of 10000"); Go's stacks grow, Node's do not: its
 * recursion runs on a fixed stack of about 1 MB, and V8's own JSON.stringify overflows near 4000
 * levels. So Skiff stops at 1000, far beyond any real object (a pod nests about 10 levels). Bodies
 * are measured as they are decoded and objects before they are stored, so the recursive code in
 * between (patching, field tracking, copying, freezing, encoding) never meets more than this.
 */
import { errors, type StatusError } from '../errors.js';

export const MAX_NESTING_DEPTH = 1000;

/**
 * How deep an object to store may nest: a body's depth, and five levels more for what the server
 * adds, since metadata.managedFields mirrors every field five levels below the object's root.
 */
export const MAX_OBJECT_DEPTH = MAX_NESTING_DEPTH + 5;

/** The upstream phrase, with Skiff's limit. */
export const TOO_DEEP = `exceeded max depth of ${MAX_NESTING_DEPTH}`;

/**
 * Whether `value` nests more than `limit` objects and arrays (`{}` is depth 1, a scalar 0). The walk
 * itself recurses at most `limit + 1` frames, and a cycle counts as too deep.
 */
export function nestingExceeds(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (nestingExceeds(value[i], limit - 1)) return true;
    return false;
  }
  for (const k in value) if (nestingExceeds((value as Record<string, unknown>)[k], limit - 1)) return true;
  return false;
}

/** A stack overflow, which only input nested past what a parser can recurse through causes. */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof Error && /Maximum call stack size exceeded/.test(err.message);
}

/** An object to store that nests too deep: upstream's 400 for a body its decoder refuses. */
export function objectTooDeep(): StatusError {
  return errors.badRequest(`the object is nested too deeply: ${TOO_DEEP}`);
}
