/**
 * Each admission plugin runs behind a guard that keeps one broken plugin from breaking the server:
 * a plugin that throws something other than a Status, hangs past its timeout, returns a value, or
 * leaves the object without metadata has failed. With failurePolicy Fail that rejects the request
 * with an InternalError naming the plugin; with Ignore it is logged and the chain goes on.
 * A StatusError is the plugin's deliberate answer and always rejects.
 *
 * A plugin that answers synchronously is answered synchronously (no promise, no timer): most
 * plugins only look at the object, and admission runs for every write.
 */
import type { Logger } from 'pino';
import type { AdmissionAttributes, AdmissionPlugin } from '../auth-types.js';
import { DeadlineTimer } from '../deadline-timer.js';
import { errors, isStatusError } from '../errors.js';

export interface AdmissionPolicy {
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
}

/** Undefined when the step is done; a promise when the plugin is still working on it. */
export type AdmissionStep = (attributes: AdmissionAttributes) => Promise<void> | undefined;

class AdmissionPluginFailure extends Error {}

export function guardAdmission(
  plugin: AdmissionPlugin,
  phase: 'admit' | 'validate',
  policy: AdmissionPolicy,
  logger: Logger,
): AdmissionStep | undefined {
  const step = plugin[phase];
  if (!step) return undefined;
  const call = step.bind(plugin);
  const handles = plugin.handles?.bind(plugin);
  const subresourceCreates = new Set(plugin.subresourceCreates ?? []);
  const skips = (a: AdmissionAttributes) =>
    (handles && !handles(a.operation)) ||
    (a.operation === 'CREATE' && a.subresource !== '' && !subresourceCreates.has(a.subresource));
  const deadlines = new Deadlines(policy.timeoutSeconds * 1000, plugin.name);

  const failed = (err: unknown) => failure(err, plugin.name, phase, policy, logger);
  const check = (attributes: AdmissionAttributes, value: unknown) => checkAnswer(attributes, value, phase);

  return (attributes) => {
    let answer: unknown;
    try {
      if (skips(attributes)) return undefined;
      answer = call(attributes);
      if (!isPromise(answer)) {
        check(attributes, answer);
        return undefined;
      }
    } catch (err) {
      failed(err);
      return undefined;
    }
    // Only asynchronous plugins can hang in a way we can stop waiting for.
    return deadlines
      .race(answer)
      .then((value) => check(attributes, value))
      .catch(failed);
  };
}

/** A plugin's failure: its deliberate Status rejects; anything else rejects (Fail) or is logged (Ignore). */
function failure(
  err: unknown,
  name: string,
  phase: 'admit' | 'validate',
  policy: AdmissionPolicy,
  logger: Logger,
): void {
  if (isStatusError(err)) throw err;
  const reason = (err as Error)?.message ?? String(err);
  if (policy.failurePolicy === 'Ignore') {
    logger.error({ err, admissionPlugin: name, phase }, 'admission plugin failed; ignored by its failurePolicy');
    return;
  }
  throw errors.internal(`admission plugin "${name}" failed: ${reason}`);
}

/** A plugin changes attributes.object in place and returns nothing; admit() must leave metadata. */
function checkAnswer(attributes: AdmissionAttributes, value: unknown, phase: 'admit' | 'validate'): void {
  if (value !== undefined) {
    throw new AdmissionPluginFailure(
      `${phase}() returned ${describe(value)}; admission plugins change attributes.object in place and return nothing`,
    );
  }
  if (phase === 'admit' && attributes.object !== undefined && !hasMetadata(attributes.object)) {
    throw new AdmissionPluginFailure('admit() left the object without metadata');
  }
}

/** Timeouts for one plugin's pending calls, all served by one timer (see DeadlineTimer). */
class Deadlines {
  private readonly timer = new DeadlineTimer();

  constructor(
    private readonly timeoutMs: number,
    private readonly name: string,
  ) {}

  race<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline = this.timer.add(this.timeoutMs, () =>
        reject(
          new AdmissionPluginFailure(`no answer within ${this.timeoutMs / 1000}s (timeoutSeconds of "${this.name}")`),
        ),
      );
      promise.then(
        (value) => {
          this.timer.settle(deadline);
          resolve(value);
        },
        (err: unknown) => {
          this.timer.settle(deadline);
          reject(err);
        },
      );
    });
  }
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function hasMetadata(obj: unknown): boolean {
  const meta = (obj as { metadata?: unknown } | null)?.metadata;
  return typeof obj === 'object' && obj !== null && typeof meta === 'object' && meta !== null && !Array.isArray(meta);
}

function describe(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
