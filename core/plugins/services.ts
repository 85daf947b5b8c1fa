/**
 * Typed services: how one plugin offers another something richer than a contribution point (an
 * evaluator, an allocator). The key names the service and the plugin that usually provides it, so
 * a missing provider is reported by name at start-up; the type parameter makes `ctx.use(key)`
 * return the right type without casts. Keys that cross plugins are declared in the SDK beside
 * their interface, so the provider and its users import the key, never each other.
 */
export interface ServiceKey<T> {
  /** Unique among services: "quota-usage". */
  readonly id: string;
  /** The plugin to enable when nothing provides it (named in the start-up error). */
  readonly providedBy: string;
  /** Carries T for the type checker only; never set. */
  readonly _type?: T;
}

export function serviceKey<T>(id: string, providedBy: string): ServiceKey<T> {
  return Object.freeze({ id, providedBy });
}
