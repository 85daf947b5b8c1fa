/**
 * Upstream's UIDTrackingControllerExpectations: what a controller has asked for and not yet seen.
 * Before creating N pods a controller expects N additions; before deleting pods it expects those
 * pods' deletions (by key, so a pod seen as deleting and then as deleted counts once). While
 * anything is still expected, the informer's copy is known to be behind the controller's own
 * writes, so the controller does not count pods again: a burst of 50 replicas creates exactly 50.
 * Expectations older than 5 minutes are given up on (a watch event lost for good must not freeze
 * the controller).
 */

const TTL_MS = 5 * 60 * 1000;

interface Expectation {
  adds: number;
  /** Keys (namespace/name) of the pods whose deletion is awaited. */
  deletes: Set<string>;
  /** When the expectation was set, for the time-out. */
  at: number;
}

export class Expectations {
  private readonly byController = new Map<string, Expectation>();

  /** True when the controller may sync: nothing outstanding, or the expectation has expired. */
  satisfied(controller: string): boolean {
    const e = this.byController.get(controller);
    if (!e) return true;
    return (e.adds <= 0 && e.deletes.size === 0) || Date.now() - e.at > TTL_MS;
  }

  expectCreations(controller: string, count: number): void {
    this.byController.set(controller, { adds: count, deletes: new Set(), at: Date.now() });
  }

  expectDeletions(controller: string, podKeys: string[]): void {
    this.byController.set(controller, { adds: 0, deletes: new Set(podKeys), at: Date.now() });
  }

  creationObserved(controller: string): void {
    const e = this.byController.get(controller);
    if (e) e.adds--;
  }

  /** A pod seen deleted (or being deleted): counted once per expected pod. */
  deletionObserved(controller: string, podKey: string): void {
    this.byController.get(controller)?.deletes.delete(podKey);
  }

  delete(controller: string): void {
    this.byController.delete(controller);
  }
}
