/**
 * One pod's scheduling cycle: what plugins computed in PreFilter and PreScore, and the plugins
 * that said Skip (they are not called at Filter/Score for this pod). Upstream's CycleState.
 */
import type { CycleState, SchedulerPlugin, StateData } from 'skiff/sdk/scheduler';

export class SchedulingCycleState implements CycleState {
  private readonly data = new Map<string, object>();
  skipFilterPlugins = new Set<string>();
  skipScorePlugins = new Set<string>();
  /** The Filter plugins to run for this pod (the framework's, minus PreFilter's Skips). */
  filters?: SchedulerPlugin[];

  read<T extends object>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  write(key: string, value: object): void {
    this.data.set(key, value);
  }

  /** A copy for preemption's what-ifs: every entry cloned (an entry without clone() is shared). */
  clone(): SchedulingCycleState {
    const c = new SchedulingCycleState();
    for (const [k, v] of this.data) c.data.set(k, (v as StateData).clone?.() ?? v);
    c.skipFilterPlugins = this.skipFilterPlugins;
    c.skipScorePlugins = this.skipScorePlugins;
    c.filters = this.filters;
    return c;
  }
}
