/**
 * Allocations claimed in storage, so that several API servers sharing one store never hand out the
 * same cluster IP or node port: one key per allocated value, written with the Storage contract's
 * create-if-absent (the part upstream's IPAddress objects play). Whoever creates the key owns the
 * value; the in-memory RangeAllocator stays the fast path and learns from the keys.
 */
import { KeyExistsError, KeyNotFoundError, RevisionMismatchError, type Storage } from 'skiff/sdk/storage';

/** Where the claims live: Skiff's own keys, beside the resources. */
export const CLAIMS_PREFIX = '/registry/skiff.dev/allocations/';

export interface Claim {
  offset: number;
  /** The service that holds it, `namespace/name`. */
  owner: string;
  /** When it was claimed (ms since the epoch, the claiming server's clock). */
  at: number;
  /** The claim's key and mod revision, for guarded removal. */
  key: string;
  revision: number;
}

/** What RangeAllocator needs from a claim store (tests may pass a fake). */
export interface ClaimStore {
  /** Claim `offset` for `owner`; resolves to whichever claim holds it afterwards (ours or another's). */
  claim(offset: number, owner: string): Promise<Claim>;
  /** The claim on `offset`, if any, without writing. */
  peek(offset: number): Promise<Claim | undefined>;
  /** Give up `owner`'s claim on `offset`; a claim held by someone else stays. */
  release(offset: number, owner: string): Promise<void>;
  /** Every claim, and the storage revision they were read at. */
  list(): Promise<{ claims: Claim[]; revision: number }>;
  /** Remove a claim unless it changed since it was read. */
  drop(claim: Claim): Promise<void>;
}

export interface ClaimCodec {
  /** The key's last segment for an offset ("127.96.0.5", "30001"). */
  name(offset: number): string;
  /** The offset a key's last segment stands for; undefined when it is not one of ours. */
  offset(name: string): number | undefined;
}

const parseClaim = (value: string): { owner: string; at: number } | undefined => {
  try {
    const v = JSON.parse(value) as { owner?: unknown; at?: unknown };
    return typeof v.owner === 'string' && typeof v.at === 'number' ? { owner: v.owner, at: v.at } : undefined;
  } catch {
    return undefined;
  }
};

export class StorageClaims implements ClaimStore {
  private readonly prefix: string;

  /** `range` names the key folder ("serviceips", "servicenodeports"); storage opens after setup, hence lazily. */
  constructor(
    private readonly storage: () => Storage,
    range: string,
    private readonly codec: ClaimCodec,
    private readonly now: () => number = Date.now,
  ) {
    this.prefix = `${CLAIMS_PREFIX}${range}/`;
  }

  private key(offset: number): string {
    return this.prefix + this.codec.name(offset);
  }

  async claim(offset: number, owner: string): Promise<Claim> {
    // A claim can vanish between our failed create and our read (released or reclaimed): try again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const at = this.now();
      try {
        const kv = await this.storage().create(this.key(offset), JSON.stringify({ owner, at }));
        return { offset, owner, at, key: kv.key, revision: kv.modRevision };
      } catch (err) {
        if (!(err instanceof KeyExistsError)) throw err;
      }
      const existing = await this.peek(offset);
      if (existing) return existing;
    }
    // Still contended after three rounds: report it as held, which the caller treats as taken.
    return { offset, owner: '', at: this.now(), key: this.key(offset), revision: 0 };
  }

  async peek(offset: number): Promise<Claim | undefined> {
    const kv = await this.storage().get(this.key(offset));
    const v = kv && parseClaim(kv.value);
    return v && kv ? { offset, ...v, key: kv.key, revision: kv.modRevision } : undefined;
  }

  async release(offset: number, owner: string): Promise<void> {
    try {
      const claim = await this.peek(offset);
      if (claim?.owner === owner) await this.drop(claim);
    } catch {
      // The service is gone already; a claim left behind is reclaimed by the next repair.
    }
  }

  async list(): Promise<{ claims: Claim[]; revision: number }> {
    const { items, revision } = await this.storage().list(this.prefix);
    const claims: Claim[] = [];
    for (const kv of items) {
      const offset = this.codec.offset(kv.key.slice(this.prefix.length));
      const v = parseClaim(kv.value);
      // Unreadable keys, or values of a range configured before, count as stale claims at offset -1.
      const claim = offset !== undefined && v ? { offset, ...v } : { offset: -1, owner: '', at: 0 };
      claims.push({ ...claim, key: kv.key, revision: kv.modRevision });
    }
    return { claims, revision };
  }

  async drop(claim: Claim): Promise<void> {
    try {
      await this.storage().delete(claim.key, claim.revision);
    } catch (err) {
      // Someone renewed, released or reclaimed it first: theirs is the newer truth.
      if (!(err instanceof RevisionMismatchError || err instanceof KeyNotFoundError)) throw err;
    }
  }
}
