/** The slices one controller manages, by owner (`namespace/service-name`), from its slice informer. */
import { type ChangeType, type KubeObject, objectKey } from 'skiff/sdk';
import { managedBy, ownerKeyOf, type Slice } from './slices.js';

export class SliceIndex {
  private readonly byOwner = new Map<string, Map<string, Slice>>();
  /** Slice key → the owner it was filed under (labels may change). */
  private readonly ownerOf = new Map<string, string>();

  constructor(private readonly manager: string) {}

  private remove(key: string): string | undefined {
    const owner = this.ownerOf.get(key);
    if (owner === undefined) return undefined;
    this.ownerOf.delete(key);
    const slices = this.byOwner.get(owner);
    slices?.delete(key);
    if (slices?.size === 0) this.byOwner.delete(owner);
    return owner;
  }

  /** Records the change; returns the owners concerned (the slice's now and before) when it is, or was, this manager's. */
  changed(type: ChangeType, slice: KubeObject): string[] {
    const key = objectKey(slice);
    const before = this.remove(key);
    const owner = ownerKeyOf(slice);
    const mine = managedBy(slice) === this.manager;
    if (type !== 'DELETED' && owner && mine) {
      let slices = this.byOwner.get(owner);
      if (!slices) {
        slices = new Map();
        this.byOwner.set(owner, slices);
      }
      slices.set(key, slice as Slice);
      this.ownerOf.set(key, owner);
    }
    const owners = new Set<string>();
    if (before) owners.add(before);
    if (owner && mine) owners.add(owner);
    return [...owners];
  }

  of(owner: string): Slice[] {
    return [...(this.byOwner.get(owner)?.values() ?? [])];
  }
}
