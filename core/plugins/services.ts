/**
 * Typed services: how one plugin offers another something richer than a contribution point (an
 * evaluator, an allocator). The key names the service and says what it is; the type parameter
 * makes `ctx.use(key)` return the right type without casts. Keys that cross plugins are declared
 * in the SDK beside their interface, so the provider and its users import the key, never each
 * other. A provider lists the keys it provides in its manifest (`provides`): that is how a missing
 * provider is named at start-up (core names no plugin) and how a component picks its providers.
 */
import { SkiffError } from '../errors.js';

export interface ServiceKey<T> {
  /** Unique among services: "quota-usage". */
  readonly id: string;
  /** What the service is, for errors: "the cluster's certificate authority and credentials". */
  readonly what: string;
  /** Carries T for the type checker only; never set. */
  readonly _type?: T;
}

export function serviceKey<T>(id: string, what: string): ServiceKey<T> {
  return Object.freeze({ id, what });
}

/** Whether a manifest declares that it provides `key`. */
export function declaresProvider(manifest: { provides?: readonly ServiceKey<unknown>[] }, key: ServiceKey<unknown>) {
  return (manifest.provides ?? []).some((k) => k.id === key.id);
}

/**
 * A start-up error that a provider of `key` would have prevented. Its fix is written for any
 * provider ("a plugin that provides pki"); `naming` gives the same error with the fix naming the
 * plugins that provide it (found in their manifests, see config/manifests.ts).
 */
export class MissingProviderError extends SkiffError {
  constructor(
    code: string,
    message: string,
    readonly key: ServiceKey<unknown>,
    private readonly fixFor: (provider: string) => string,
  ) {
    super(code, message, fixFor(`a plugin that provides ${key.id} (${key.what})`));
  }

  /** The same error, with `more` after its fix: another way out the user has ("or give --client-ca-file"). */
  adding(more: string): MissingProviderError {
    return new MissingProviderError(this.code, this.message, this.key, (p) => `${this.fixFor(p)}; ${more}`);
  }

  naming(providers: readonly string[]): SkiffError {
    if (providers.length === 0) return this;
    return new SkiffError(this.code, this.message, this.fixFor(providers.join(' or ')));
  }
}
