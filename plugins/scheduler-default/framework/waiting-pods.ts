/**
 * Pods held at Permit (upstream's waitingPodsMap and waitingPod): each waits for every plugin that
 * answered Wait to allow it; one rejection, or one plugin's timeout, rejects it. The map is shared
 * by every profile, so a plugin (a gang scheduler, say) may allow pods another cycle made wait.
 */
import { Code, type Status, status, type WaitingPod } from 'skiff/sdk/scheduler';
import type { PodInformation } from '../model/pod-info.js';

/** Upstream's maxTimeout: no plugin holds a pod longer. */
export const MAX_PERMIT_WAIT_MS = 15 * 60_000;

/** Go's time.Duration String for whole milliseconds: "250ms", "1.5s", "1m30s", "1h0m0s". */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = `${(ms % 60_000) / 1000}s`;
  if (hours) return `${hours}h${minutes}m${seconds}`;
  return minutes ? `${minutes}m${seconds}` : seconds;
}

export class WaitingPodEntry implements WaitingPod {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private settle!: (s: Status | undefined) => void;
  /** Undefined once every plugin allowed the pod; the rejection otherwise. */
  readonly outcome = new Promise<Status | undefined>((resolve) => {
    this.settle = resolve;
  });

  constructor(
    readonly pod: PodInformation,
    readonly nodeName: string,
    waits: ReadonlyMap<string, number>,
  ) {
    for (const [plugin, asked] of waits) {
      const ms = Math.min(Math.max(asked, 0), MAX_PERMIT_WAIT_MS);
      const timer = setTimeout(
        () => this.reject(plugin, `rejected due to timeout after waiting ${goDuration(ms)} at plugin ${plugin}`),
        ms,
      );
      timer.unref();
      this.timers.set(plugin, timer);
    }
  }

  pendingPlugins(): readonly string[] {
    return [...this.timers.keys()];
  }

  allow(plugin: string): void {
    const timer = this.timers.get(plugin);
    if (!timer) return;
    clearTimeout(timer);
    this.timers.delete(plugin);
    if (this.timers.size === 0) this.settle(undefined);
  }

  reject(plugin: string, message: string): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.settle({ ...status(Code.Unschedulable, message), plugin });
  }
}

export class WaitingPods {
  private readonly pods = new Map<string, WaitingPodEntry>();

  get(uid: string): WaitingPodEntry | undefined {
    return this.pods.get(uid);
  }

  list(): WaitingPodEntry[] {
    return [...this.pods.values()];
  }

  /** Waits until the held pod's plugins allow it (undefined) or one rejects it; then forgets it. */
  async settled(entry: WaitingPodEntry): Promise<Status | undefined> {
    try {
      return await entry.outcome;
    } finally {
      if (this.pods.get(entry.pod.uid) === entry) this.pods.delete(entry.pod.uid);
    }
  }

  /** Registers the waiting pod at once (in the scheduling cycle), so the next cycle's plugins see it. */
  hold(pod: PodInformation, nodeName: string, waits: ReadonlyMap<string, number>): WaitingPodEntry {
    const entry = new WaitingPodEntry(pod, nodeName, waits);
    this.pods.set(pod.uid, entry);
    return entry;
  }

  /** The pod was deleted while waiting (upstream's RejectWaitingPod from the pod informer). */
  rejectDeleted(uid: string): void {
    this.pods.get(uid)?.reject('', 'removed');
  }
}
