/**
 * Hands out integers from a fixed range (offsets 0..size-1) to named owners: the engine behind the
 * ClusterIP and NodePort allocators. The used set lives in memory and is rebuilt from what storage
 * holds: lazily on first use (storage opens after plugin setup), and again whenever the range looks
 * full or a requested value looks taken, because an in-memory hold can outlive a create that failed
 * after allocation (validation, admission, AlreadyExists). Holds younger than `pendingTtlMs` survive
 * a rebuild: their objects may simply not be stored yet.
 */

export interface StoredHold {
  offset: number;
  owner: string;
}

export interface RangeAllocatorOptions {
  size: number;
  /** Never handed out by allocateNext (e.g. the kubernetes service's address); may be requested. */
  reserved?: (offset: number) => boolean;
  /** Never valid at all (e.g. the network and broadcast addresses). */
  unusable?: (offset: number) => boolean;
  /** What storage holds now. */
  load: () => Promise<StoredHold[]>;
  pendingTtlMs?: number;
  now?: () => number;
}

export type AllocateResult = 'ok' | 'allocated' | 'out-of-range';

interface Hold {
  owner: string;
  /** Set while the hold has not yet been seen in storage. */
  pendingSince?: number;
}

export class RangeAllocator {
  private holds = new Map<number, Hold>();
  private loading?: Promise<void>;
  private cursor = 0;

  constructor(private readonly options: RangeAllocatorOptions) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  private ready(): Promise<void> {
    this.loading ??= this.rebuild().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  /** Re-read storage now (also what the lazy first load does). */
  async rebuild(): Promise<void> {
    const started = this.now();
    const stored = await this.options.load();
    const ttl = this.options.pendingTtlMs ?? 60_000;
    const next = new Map<number, Hold>();
    for (const { offset, owner } of stored) next.set(offset, { owner });
    for (const [offset, hold] of this.holds) {
      const fresh = hold.pendingSince !== undefined && hold.pendingSince >= started - ttl;
      if (fresh && !next.has(offset)) next.set(offset, hold);
    }
    this.holds = next;
  }

  private takenByOther(offset: number, owner: string): boolean {
    const hold = this.holds.get(offset);
    return hold !== undefined && hold.owner !== owner;
  }

  private hold(offset: number, owner: string): void {
    if (this.holds.get(offset)?.owner === owner) return;
    this.holds.set(offset, { owner, pendingSince: this.now() });
  }

  inRange(offset: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && offset < this.options.size && !this.options.unusable?.(offset);
  }

  /** Claim a specific value. The same owner may claim its own value again (retried creates). */
  async allocate(offset: number, owner: string, dryRun = false): Promise<AllocateResult> {
    if (!this.inRange(offset)) return 'out-of-range';
    await this.ready();
    if (this.takenByOther(offset, owner)) {
      await this.rebuild();
      if (this.takenByOther(offset, owner)) return 'allocated';
    }
    if (!dryRun) this.hold(offset, owner);
    return 'ok';
  }

  /** The next free value after the last one handed out, or undefined when the range is full. */
  async allocateNext(owner: string, dryRun = false): Promise<number | undefined> {
    await this.ready();
    let found = this.findFree();
    if (found === undefined) {
      await this.rebuild();
      found = this.findFree();
    }
    if (found !== undefined && !dryRun) {
      this.hold(found, owner);
      this.cursor = (found + 1) % this.options.size;
    }
    return found;
  }

  /** Values this owner holds (a service re-created under the same name gets its address back). */
  async heldBy(owner: string): Promise<number[]> {
    await this.ready();
    return [...this.holds].filter(([, h]) => h.owner === owner).map(([offset]) => offset);
  }

  release(offset: number, owner: string): void {
    if (this.holds.get(offset)?.owner === owner) this.holds.delete(offset);
  }

  private findFree(): number | undefined {
    const { size, reserved } = this.options;
    for (let i = 0; i < size; i++) {
      const offset = (this.cursor + i) % size;
      if (this.inRange(offset) && !reserved?.(offset) && !this.holds.has(offset)) return offset;
    }
    return undefined;
  }
}
