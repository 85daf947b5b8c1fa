/**
 * Hands out integers from a fixed range (offsets 0..size-1) to named owners: the engine behind the
 * ClusterIP and NodePort allocators. As upstream's bitmap allocator with offset (KEP-3070, KEP-3668),
 * a value nobody asked for is picked at random from the upper band [dynamicFrom, size), and from the
 * lower band only once the upper one is full: the lower band stays free for values users pin, so a
 * manifest that pins one is not refused because an earlier service happened to get it.
 * The used set lives in memory and is rebuilt from what storage
 * holds: lazily on first use (storage opens after plugin setup), and again whenever the range looks
 * full or a requested value looks taken, because an in-memory hold can outlive a create that failed
 * after allocation (validation, admission, AlreadyExists). Holds younger than `pendingTtlMs` survive
 * a rebuild: their objects may simply not be stored yet.
 *
 * With `claims` (allocation-claims.ts) every value handed out is first claimed in storage, so that
 * servers sharing the store never hand out the same one; a rebuild then also repairs the claims:
 * a claim no stored object backs is dropped once older than `pendingTtlMs`, and a stored value
 * without a claim (data written before claims existed) gets one.
 */
import type { Claim, ClaimStore } from './allocation-claims.js';

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
  /** Where the band allocateNext prefers starts; below it, values are left for requests (default 0). */
  dynamicFrom?: number;
  /** An integer in [0, n): where a scan for a free value starts (tests pass a fixed one). */
  random?: (n: number) => number;
  /** What storage holds now (or at `revision`, to match a list of claims). */
  load: (revision?: number) => Promise<StoredHold[]>;
  /**
   * Claims in shared storage; without them the in-memory holds are the only guard (one server).
   * A function is asked at each use, since whether to claim can depend on a store not open yet.
   */
  claims?: ClaimStore | (() => ClaimStore | undefined);
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

  private claims(): ClaimStore | undefined {
    const c = this.options.claims;
    return typeof c === 'function' ? c() : c;
  }

  private get pendingTtlMs(): number {
    return this.options.pendingTtlMs ?? 60_000;
  }

  /** Re-read storage now (also what the lazy first load does). */
  async rebuild(): Promise<void> {
    const claims = this.claims();
    if (claims) {
      this.holds = await this.repairClaims(claims);
      return;
    }
    const started = this.now();
    const stored = await this.options.load();
    const next = new Map<number, Hold>();
    for (const { offset, owner } of stored) next.set(offset, { owner });
    for (const [offset, hold] of this.holds) {
      const fresh = hold.pendingSince !== undefined && hold.pendingSince >= started - this.pendingTtlMs;
      if (fresh && !next.has(offset)) next.set(offset, hold);
    }
    this.holds = next;
  }

  /** Stored values and claims read at one revision, so that neither side looks ahead of the other. */
  private async repairClaims(claims: ClaimStore): Promise<Map<number, Hold>> {
    const started = this.now();
    const { claims: found, revision } = await claims.list();
    const next = new Map<number, Hold>();
    for (const { offset, owner } of await this.options.load(revision)) next.set(offset, { owner });
    const claimed = new Set<number>();
    for (const claim of found) {
      claimed.add(claim.offset);
      if (next.has(claim.offset)) continue;
      const fresh = claim.at >= started - this.pendingTtlMs && this.inRange(claim.offset);
      // Unbacked and old: a create that failed, or a delete whose release never ran (a crash).
      if (fresh) next.set(claim.offset, { owner: claim.owner, pendingSince: claim.at });
      else await claims.drop(claim);
    }
    for (const [offset, hold] of next) {
      if (!claimed.has(offset)) await claims.claim(offset, hold.owner);
    }
    return next;
  }

  /**
   * Claim a value this call holds in memory already (or, for a dry run, look); false when another
   * owner holds it in storage. `added`: the hold is this call's own, to undo if storage fails.
   */
  private async claimed(offset: number, owner: string, dryRun: boolean, added: boolean): Promise<boolean> {
    const claims = this.claims();
    if (!claims) return true;
    let claim: Claim | undefined;
    try {
      claim = dryRun ? await claims.peek(offset) : await claims.claim(offset, owner);
    } catch (err) {
      if (added) this.holds.delete(offset);
      throw err;
    }
    if (!claim || claim.owner === owner) return true;
    this.holds.set(offset, { owner: claim.owner, pendingSince: claim.at });
    return false;
  }

  private takenByOther(offset: number, owner: string): boolean {
    const hold = this.holds.get(offset);
    return hold !== undefined && hold.owner !== owner;
  }

  /** True when the hold is new. */
  private hold(offset: number, owner: string): boolean {
    if (this.holds.get(offset)?.owner === owner) return false;
    this.holds.set(offset, { owner, pendingSince: this.now() });
    return true;
  }

  inRange(offset: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && offset < this.options.size && !this.options.unusable?.(offset);
  }

  /** Claim a specific value. The same owner may claim its own value again (retried creates). */
  async allocate(offset: number, owner: string, dryRun = false): Promise<AllocateResult> {
    if (!this.inRange(offset)) return 'out-of-range';
    await this.ready();
    for (let rebuilt = false; ; rebuilt = true) {
      if (!this.takenByOther(offset, owner)) {
        const added = !dryRun && this.hold(offset, owner);
        if (await this.claimed(offset, owner, dryRun, added)) return 'ok';
      }
      if (rebuilt) return 'allocated';
      await this.rebuild();
    }
  }

  /** A free value (the upper band first, from a random start), or undefined when the range is full. */
  async allocateNext(owner: string, dryRun = false): Promise<number | undefined> {
    await this.ready();
    for (let rebuilt = false; ; ) {
      const found = this.findFree();
      if (found === undefined) {
        if (rebuilt) return undefined;
        rebuilt = true;
        await this.rebuild();
        continue;
      }
      // Held before the first await, so that concurrent calls pick other values.
      const added = !dryRun && this.hold(found, owner);
      // Taken in storage: another server claimed it since our last rebuild; it is held now, try the next.
      if (await this.claimed(found, owner, dryRun, added)) return found;
    }
  }

  /** Values this owner holds (a service re-created under the same name gets its address back). */
  async heldBy(owner: string): Promise<number[]> {
    await this.ready();
    return [...this.holds].filter(([, h]) => h.owner === owner).map(([offset]) => offset);
  }

  /** Forgets the hold at once (so a caller that does not wait sees it free) and gives up the claim. */
  async release(offset: number, owner: string): Promise<void> {
    if (this.holds.get(offset)?.owner === owner) this.holds.delete(offset);
    await this.claims()?.release(offset, owner);
  }

  private findFree(): number | undefined {
    const { size } = this.options;
    const from = Math.min(Math.max(this.options.dynamicFrom ?? 0, 0), size);
    return this.scan(from, size) ?? this.scan(0, from);
  }

  /** Upstream's random scan: from a random point of [first, end), wrapping, the first free value. */
  private scan(first: number, end: number): number | undefined {
    const span = end - first;
    if (span <= 0) return undefined;
    const start = this.options.random?.(span) ?? Math.floor(Math.random() * span);
    for (let i = 0; i < span; i++) {
      const offset = first + ((start + i) % span);
      if (this.inRange(offset) && !this.options.reserved?.(offset) && !this.holds.has(offset)) return offset;
    }
    return undefined;
  }
}
