/**
 * What a simulated container does, scripted by pod annotations (the kubelet hands a pod's
 * annotations to the runtime with each container). Every key may name one container by a suffix:
 * `sim.skiff.dev/exit-after.worker` applies to container `worker` only and wins over the plain key.
 */
import { goDurationSeconds } from 'skiff/sdk/cli';
import { RuntimeError } from 'skiff/sdk/runtime';

export const SIM_ANNOTATIONS = Object.freeze({
  /** Time from start to Running (default: the config's startDelaySeconds). */
  startDelay: 'sim.skiff.dev/start-delay',
  /** The container exits this long after it started. */
  exitAfter: 'sim.skiff.dev/exit-after',
  /** ... with this exit code (default 0: reason Completed; else Error). */
  exitCode: 'sim.skiff.dev/exit-code',
  /** Its liveness probe fails from this long after each start on. */
  livenessFailAfter: 'sim.skiff.dev/liveness-fail-after',
  /** Its readiness probe fails from this long after each start on. */
  readinessFailAfter: 'sim.skiff.dev/readiness-fail-after',
  /** Its startup probe fails from this long after each start on (0s: it never starts). */
  startupFailAfter: 'sim.skiff.dev/startup-fail-after',
});

/**
 * The label the kubelet's simulated nodes put on init containers (a runtime cannot tell them apart
 * otherwise): an init container with no scripted exit completes (exit 0) as soon as it runs.
 */
export const INIT_CONTAINER_LABEL = 'sim.skiff.dev/init-container';

/** Milliseconds, or undefined when not scripted. */
export interface Script {
  startDelayMs?: number;
  exitAfterMs?: number;
  exitCode: number;
  failAfterMs: { liveness?: number; readiness?: number; startup?: number };
}

function lookup(annotations: Record<string, string>, key: string, container: string): string | undefined {
  return annotations[`${key}.${container}`] ?? annotations[key];
}

/** A Go duration (`1m30s`, `500ms`) or a number of seconds. */
function durationMs(annotations: Record<string, string>, key: string, container: string): number | undefined {
  const raw = lookup(annotations, key, container);
  if (raw === undefined) return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : parseDuration(raw);
  if (seconds === undefined) {
    throw new RuntimeError(
      'InvalidArgument',
      `annotation ${key}="${raw}" is not a duration`,
      'write a duration such as 5s, 1m30s or 500ms (or a number of seconds)',
    );
  }
  return seconds * 1000;
}

function parseDuration(raw: string): number | undefined {
  try {
    return goDurationSeconds(raw);
  } catch {
    return undefined;
  }
}

function exitCode(annotations: Record<string, string>, container: string): number {
  const raw = lookup(annotations, SIM_ANNOTATIONS.exitCode, container);
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw) || Number(raw) > 255) {
    throw new RuntimeError(
      'InvalidArgument',
      `annotation ${SIM_ANNOTATIONS.exitCode}="${raw}" is not an exit code`,
      'write a whole number from 0 to 255',
    );
  }
  return Number(raw);
}

/** The script of container `name` (throws RuntimeError InvalidArgument on a malformed annotation). */
export function scriptOf(annotations: Record<string, string>, name: string): Script {
  const ms = (key: string) => durationMs(annotations, key, name);
  return {
    startDelayMs: ms(SIM_ANNOTATIONS.startDelay),
    exitAfterMs: ms(SIM_ANNOTATIONS.exitAfter),
    exitCode: exitCode(annotations, name),
    failAfterMs: {
      liveness: ms(SIM_ANNOTATIONS.livenessFailAfter),
      readiness: ms(SIM_ANNOTATIONS.readinessFailAfter),
      startup: ms(SIM_ANNOTATIONS.startupFailAfter),
    },
  };
}
