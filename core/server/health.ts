/** /healthz, /livez and /readyz with ?verbose, ?exclude= and per-check paths, worded as upstream. */
import type { HealthCheckKind } from '../plugins/contract.js';

export interface HealthCheck {
  name: string;
  kinds: HealthCheckKind[];
  check: () => void | Promise<void>;
}

export interface HealthAnswer {
  code: number;
  text: string;
}

export async function runHealth(
  kind: 'healthz' | HealthCheckKind,
  checks: HealthCheck[],
  query: URLSearchParams,
  only?: string,
): Promise<HealthAnswer | undefined> {
  const applicable = checks.filter((c) => kind === 'healthz' || c.kinds.includes(kind));
  const excluded = new Set(query.getAll('exclude'));
  const selected = only ? applicable.filter((c) => c.name === only) : applicable.filter((c) => !excluded.has(c.name));
  if (only && selected.length === 0) return undefined;
  const lines: string[] = [];
  let failed = false;
  for (const c of selected) {
    try {
      await c.check();
      lines.push(`[+]${c.name} ok`);
    } catch {
      failed = true;
      lines.push(`[-]${c.name} failed: reason withheld`);
    }
  }
  for (const name of excluded) lines.push(`[+]${name} excluded: ok`);
  const verbose = query.has('verbose');
  if (failed) return { code: 500, text: `${lines.join('\n')}\n${kind} check failed\n` };
  if (!verbose) return { code: 200, text: 'ok' };
  return { code: 200, text: `${lines.join('\n')}\n${kind} check passed\n` };
}
