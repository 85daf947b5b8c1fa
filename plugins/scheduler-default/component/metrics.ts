/**
 * The scheduler's metrics, with upstream's names on a registry of its own:
 * scheduler_schedule_attempts_total{result,profile}, scheduler_scheduling_attempt_duration_seconds
 * {result,profile}, scheduler_pending_pods{queue}, scheduler_preemption_attempts_total and
 * scheduler_preemption_victims. Label children are made once, so an attempt costs two increments.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queue } from '../queue/scheduling-queue.js';

export type AttemptResult = 'scheduled' | 'unschedulable' | 'error';

// Upstream's buckets: exponential from 1 ms, doubling, 15 of them.
const BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

export class SchedulerMetrics {
  readonly registry = new Registry();
  private readonly attempts = new Counter({
    name: 'scheduler_schedule_attempts_total',
    help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
    labelNames: ['result', 'profile'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'scheduler_scheduling_attempt_duration_seconds',
    help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding)',
    labelNames: ['result', 'profile'],
    buckets: BUCKETS,
    registers: [this.registry],
  });
  readonly preemptionAttempts = new Counter({
    name: 'scheduler_preemption_attempts_total',
    help: 'Total preemption attempts in the cluster till now',
    registers: [this.registry],
  });
  readonly preemptionVictims = new Histogram({
    name: 'scheduler_preemption_victims',
    help: 'Number of selected preemption victims',
    buckets: Array.from({ length: 7 }, (_, i) => 2 ** i),
    registers: [this.registry],
  });
  private readonly children = new Map<string, { attempts: Counter.Internal; duration: Histogram.Internal<string> }>();

  constructor(pending: () => Record<Queue, number>) {
    new Gauge({
      name: 'scheduler_pending_pods',
      help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the scheduler attempted to schedule and failed; 'gated' is the number of unschedulable pods that the scheduler never attempted to schedule because they are gated.",
      labelNames: ['queue'],
      registers: [this.registry],
      collect() {
        for (const [queue, n] of Object.entries(pending())) this.set({ queue }, n);
      },
    });
  }

  attempt(result: AttemptResult, profile: string, seconds: number): void {
    const key = `${result}\u0000${profile}`;
    let c = this.children.get(key);
    if (!c) {
      c = { attempts: this.attempts.labels(result, profile), duration: this.duration.labels(result, profile) };
      this.children.set(key, c);
    }
    c.attempts.inc();
    c.duration.observe(seconds);
  }
}
