/**
 * The objects this process has just written, by the exact text it stored: the watch cache takes
 * its copy of a new version from here instead of parsing that text back. Parsing a pod costs about
 * three times copying it, and it was the dearest step of a create after the write itself.
 *
 * Keyed by content, so a hit is right whoever wrote the text and whichever storage delivers it
 * back: the copy is exactly what JSON.parse would return (clone is JSON-exact). Each copy is
 * handed out once, to the first reader; a write that never comes back (storage refused it) is
 * dropped, oldest first, once `capacity` texts are waiting.
 */
import { clone, decodeStored, encodeForStorage, storedForm } from '../meta.js';
import type { KubeObject } from '../types.js';

const DEFAULT_CAPACITY = 1024;

export class RecentWrites {
  private readonly byValue = new Map<string, KubeObject>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** The text to store for `obj`; remembers a copy of what it says, for `decode`. */
  encode(obj: KubeObject): string {
    const value = encodeForStorage(obj);
    this.remember(value, obj);
    return value;
  }

  /** `value` (encodeForStorage of `obj`) is about to be written: keep a copy to decode it with. */
  remember(value: string, obj: KubeObject): void {
    if (this.byValue.size >= this.capacity) this.byValue.delete(this.byValue.keys().next().value!);
    // A copy taken now: the caller still owns `obj` and may change it after the write.
    this.byValue.set(value, clone(storedForm(obj)));
  }

  /** A stored value as an object at `modRevision`: the remembered copy if there is one, else parsed. */
  decode(kv: { value: string; modRevision: number }): KubeObject {
    const copy = this.byValue.get(kv.value);
    if (!copy) return decodeStored(kv);
    this.byValue.delete(kv.value);
    copy.metadata.resourceVersion = String(kv.modRevision);
    return copy;
  }

  /** How many copies wait to be taken (for tests). */
  get size(): number {
    return this.byValue.size;
  }
}
