/**
 * Upstream's absentOwnerCache: owners (by their full coordinates) known not to exist, so that the
 * thousand pods of a deleted ReplicationController cost one lookup of it, not a thousand. Bounded:
 * the oldest entries go first.
 */
import type { Identity } from './graph.js';

const LIMIT = 500;

export class AbsentOwners {
  private readonly known = new Set<string>();

  private static key(i: Identity): string {
    return JSON.stringify([i.apiVersion, i.kind, i.namespace, i.name, i.uid]);
  }

  add(identity: Identity): void {
    const key = AbsentOwners.key(identity);
    this.known.delete(key);
    this.known.add(key);
    if (this.known.size > LIMIT) this.known.delete(this.known.values().next().value as string);
  }

  has(identity: Identity): boolean {
    return this.known.has(AbsentOwners.key(identity));
  }
}
