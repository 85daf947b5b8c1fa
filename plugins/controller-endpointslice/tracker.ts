/**
 * Upstream's EndpointSliceTracker: the slices a controller has just written or deleted, until its
 * informer shows them. A sync that found the informer behind its own writes would act on stale
 * slices (create a second slice for the same endpoints), so it waits and retries instead. Events
 * it expected are not news; any other event about a managed slice (someone else edited or deleted
 * it) is, and the owner is synced again.
 */
import type { ChangeType, KubeObject } from 'skiff/sdk';

/** Expectations older than this are dropped: a watch that lost an event must not block a key forever. */
const EXPECTATION_TTL_MS = 30_000;

interface Expectation {
  /** The resourceVersion written, or 'deleted'. */
  want: string;
  at: number;
}

const atLeast = (have: string | undefined, want: string) =>
  have !== undefined && /^\d+$/.test(have) && /^\d+$/.test(want) ? BigInt(have) >= BigInt(want) : have === want;

export class SliceTracker {
  private readonly expected = new Map<string, Map<string, Expectation>>();

  /**
   * `current` reads the informer's copy of a slice: an in-process watch may deliver the event of a
   * write before the write returns, and then there is nothing left to wait for.
   */
  constructor(private readonly current: (namespace: string, name: string) => KubeObject | undefined) {}

  private of(owner: string): Map<string, Expectation> {
    let slices = this.expected.get(owner);
    if (!slices) {
      slices = new Map();
      this.expected.set(owner, slices);
    }
    return slices;
  }

  written(owner: string, slice: KubeObject): void {
    const { namespace = '', name = '', resourceVersion = '' } = slice.metadata;
    if (atLeast(this.current(namespace, name)?.metadata.resourceVersion, resourceVersion)) return;
    this.of(owner).set(name, { want: resourceVersion, at: Date.now() });
  }

  deleted(owner: string, namespace: string, name: string): void {
    if (!this.current(namespace, name)) return;
    this.of(owner).set(name, { want: 'deleted', at: Date.now() });
  }

  /** Takes an informer event in; returns whether it was news (not one of this controller's own writes). */
  observe(owner: string, type: ChangeType, slice: KubeObject): boolean {
    const slices = this.expected.get(owner);
    const name = slice.metadata.name ?? '';
    const expectation = slices?.get(name);
    if (!slices || !expectation) return true;
    const clear = () => {
      slices.delete(name);
      if (slices.size === 0) this.expected.delete(owner);
    };
    if (type === 'DELETED') {
      clear();
      // Deleted as expected; or someone else deleted a slice this controller had just written.
      return expectation.want !== 'deleted';
    }
    // An event older than the deletion (or the write) this controller made.
    if (expectation.want === 'deleted' || !atLeast(slice.metadata.resourceVersion, expectation.want)) return false;
    clear();
    // Exactly this controller's write; anything newer is someone else's change on top of it.
    return slice.metadata.resourceVersion !== expectation.want;
  }

  /** Whether the informer has not yet shown every write of this owner's last sync. */
  isStale(owner: string): boolean {
    const slices = this.expected.get(owner);
    if (!slices) return false;
    const now = Date.now();
    for (const [name, e] of slices) if (now - e.at > EXPECTATION_TTL_MS) slices.delete(name);
    if (slices.size === 0) this.expected.delete(owner);
    return slices.size > 0;
  }

  forget(owner: string): void {
    this.expected.delete(owner);
  }
}
