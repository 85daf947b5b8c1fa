/**
 * The scheduling algorithm alone, for the benchmark's breakdown: the shape's nodes in a cache, its
 * pods scheduled one after another (each assumed on its node) with the default profile, no API,
 * no queue, no binding. What is left of a pod's cost in the full run is the API's and the plumbing's.
 */
import { pino } from 'pino';
import type { KubeObject } from '../../core/api/types.js';
import { schedulePod } from '../../plugins/scheduler-default/component/algorithm.js';
import { SchedulerComponent } from '../../plugins/scheduler-default/component/component.js';
import { loadSchedulerConfiguration } from '../../plugins/scheduler-default/config/configuration.js';
import { SchedulingCycleState } from '../../plugins/scheduler-default/framework/cycle-state.js';
import { PodInformation } from '../../plugins/scheduler-default/model/pod-info.js';
import type { Shape } from './scheduler-shapes.js';

function asCreated(p: KubeObject, i: number): KubeObject {
  return {
    ...p,
    metadata: { ...p.metadata, uid: `uid-${i}` },
    spec: { schedulerName: 'default-scheduler', priority: 0, ...(p.spec as object) },
  };
}

/** Microseconds of CPU per measured pod spent in the scheduling cycle (filter, score, assume). */
export function algorithmMicrosPerPod(shape: Shape): number {
  const c = new SchedulerComponent({
    logger: pino({ level: 'silent' }),
    config: loadSchedulerConfiguration(),
    external: () => undefined,
  });
  for (const n of shape.nodes()) c.cache.addNode(n);
  const fwk = c.frameworks.get('default-scheduler')!;
  let i = 0;
  const run = (pods: KubeObject[]) => {
    for (const p of pods) {
      const info = new PodInformation(asCreated(p, i++));
      const { node } = schedulePod(c.scheduler.ctx, fwk, new SchedulingCycleState(), info);
      c.cache.assume(info.assumedOn(node));
    }
  };
  run(shape.warmUpPods());
  const measured = shape.measuredPods();
  const before = process.cpuUsage();
  run(measured);
  const cpu = process.cpuUsage(before);
  return (cpu.user + cpu.system) / measured.length;
}
