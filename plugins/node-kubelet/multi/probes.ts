/**
 * Probes of simulated containers: declared in the pod spec as usual (kind, initialDelaySeconds,
 * periodSeconds, successThreshold, failureThreshold), answered by the runtime (runtime-simulated
 * scripts them with annotations) instead of being run. Evaluated on the host's relist tick, so a
 * period is honoured to within one relist period.
 */
import type { Container, Probe } from 'kubernetes-types/core/v1.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

interface ProbeState {
  nextAt: number;
  successes: number;
  failures: number;
  /** undefined until the first result: a readiness probe makes the container unready until then. */
  ok?: boolean;
}

export interface ProbeVerdict {
  kind: ProbeKind;
  passed: boolean;
  /** A liveness or startup probe reached its failure threshold: the container must be restarted. */
  kill: boolean;
  /** The readiness (or startup) result changed: the pod status must be written. */
  changed: boolean;
}

const specOf = (c: Container, kind: ProbeKind): Probe | undefined =>
  kind === 'liveness' ? c.livenessProbe : kind === 'readiness' ? c.readinessProbe : c.startupProbe;

/** Per running container (by id): the state of each of its probes. */
export class ContainerProbes {
  private readonly states = new Map<string, Partial<Record<ProbeKind, ProbeState>>>();

  /** Whether the container has started (its startup probe, if any, succeeded). */
  started(container: Container, id: string): boolean {
    return !container.startupProbe || this.states.get(id)?.startup?.ok === true;
  }

  /** Its readiness result, undefined when it declares no readiness probe. */
  ready(container: Container, id: string): boolean | undefined {
    if (!container.readinessProbe) return undefined;
    return this.states.get(id)?.readiness?.ok === true;
  }

  /** Runs the probes that are due; `answer` is the runtime's scripted result. */
  evaluate(container: Container, id: string, startedAt: number, answer: (kind: ProbeKind) => boolean): ProbeVerdict[] {
    const now = Date.now();
    const verdicts: ProbeVerdict[] = [];
    const states = this.states.get(id) ?? {};
    this.states.set(id, states);
    const started = this.started(container, id);
    for (const kind of ['startup', 'liveness', 'readiness'] as const) {
      const spec = specOf(container, kind);
      if (!spec || (kind !== 'startup' && !started) || (kind === 'startup' && started)) continue;
      const state = states[kind] ?? {
        nextAt: startedAt + (spec.initialDelaySeconds ?? 0) * 1000,
        successes: 0,
        failures: 0,
      };
      states[kind] = state;
      if (now < state.nextAt) continue;
      state.nextAt = now + (spec.periodSeconds ?? 10) * 1000;
      const passed = answer(kind);
      const verdict = this.record(state, spec, passed);
      verdicts.push({ kind, passed, kill: kind !== 'readiness' && verdict.failedOut, changed: verdict.changed });
    }
    return verdicts;
  }

  private record(state: ProbeState, spec: Probe, passed: boolean): { changed: boolean; failedOut: boolean } {
    const before = state.ok;
    if (passed) {
      state.failures = 0;
      state.successes++;
      if (state.successes >= (spec.successThreshold ?? 1)) state.ok = true;
    } else {
      state.successes = 0;
      state.failures++;
      if (state.failures >= (spec.failureThreshold ?? 3)) state.ok = false;
    }
    return { changed: before !== state.ok, failedOut: state.ok === false && before !== false };
  }

  forget(id: string): void {
    this.states.delete(id);
  }
}
