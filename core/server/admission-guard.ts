/**
 * Each admission plugin runs behind a guard that keeps one broken plugin from breaking the server:
 * a plugin that throws something other than a Status, hangs past its timeout, returns a value, or
 * leaves the object without metadata has failed. With failurePolicy Fail that rejects the request
 * with an InternalError naming the plugin; with Ignore it is logged and the chain goes on.
 * A StatusError is the plugin's deliberate answer and always rejects.
 */
import type { Logger } from 'pino';
import type { AdmissionAttributes, AdmissionPlugin } from '../auth-types.js';
import { errors, isStatusError } from '../errors.js';

export interface AdmissionPolicy {
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
}

type Step = (attributes: AdmissionAttributes) => Promise<void>;

class AdmissionPluginFailure extends Error {}

export function guardAdmission(
  plugin: AdmissionPlugin,
  phase: 'admit' | 'validate',
  policy: AdmissionPolicy,
  logger: Logger,
): Step | undefined {
  const step = plugin[phase];
  if (!step) return undefined;
  const call = step.bind(plugin);
  const handles = plugin.handles?.bind(plugin);
  const timeoutMs = policy.timeoutSeconds * 1000;
  return async (attributes) => {
    try {
      if (handles && !handles(attributes.operation)) return;
      const answer = call(attributes);
      // Only asynchronous plugins can hang in a way we can stop waiting for: time them alone.
      const value = isPromise(answer) ? await withTimeout(answer, timeoutMs, plugin.name) : answer;
      if (value !== undefined) {
        throw new AdmissionPluginFailure(
          `${phase}() returned ${describe(value)}; admission plugins change attributes.object in place and return nothing`,
        );
      }
      if (phase === 'admit' && attributes.object !== undefined && !hasMetadata(attributes.object)) {
        throw new AdmissionPluginFailure('admit() left the object without metadata');
      }
    } catch (err) {
      if (isStatusError(err)) throw err;
      const reason = (err as Error)?.message ?? String(err);
      if (policy.failurePolicy === 'Ignore') {
        logger.error(
          { err, admissionPlugin: plugin.name, phase },
          'admission plugin failed; ignored by its failurePolicy',
        );
        return;
      }
      throw errors.internal(`admission plugin "${plugin.name}" failed: ${reason}`);
    }
  };
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

async function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AdmissionPluginFailure(`no answer within ${ms / 1000}s (timeoutSeconds of "${name}")`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function hasMetadata(obj: unknown): boolean {
  const meta = (obj as { metadata?: unknown } | null)?.metadata;
  return typeof obj === 'object' && obj !== null && typeof meta === 'object' && meta !== null && !Array.isArray(meta);
}

function describe(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
